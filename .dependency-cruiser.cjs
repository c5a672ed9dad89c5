// Dependency rules for src/, from docs/design.md ("Layout (what lives where, what may import
// what)" and the "Direction:" paragraph after it):
//
//   Direction: `http -> resources -> {agents, scim, store}`; `store -> scim` (AST and registry
//   types only); `jobs, sync, signals -> resources` (domain commands); `sync -> connectors`;
//   everything may use `lib/`. `scim/`, `agents/` and `lib/` import nothing else from `src/`.
//   Only `config/` and `cli/` read the environment.
//
// Run with `npm run lint:deps` (part of `npm test`). Today's violations of this direction are
// recorded in .dependency-cruiser-known-violations.json and do not fail the run (the re-plumbing
// removes them); any violation not in that file does. After removing violations, shrink the
// baseline with `npx depcruise-baseline src` (check its diff only removes entries).
//
// Not checked here: "Only `config/` and `cli/` read the environment." dependency-cruiser sees
// imports only, not `process.env` reads, so that rule cannot be expressed as a dependency rule.

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'scim-is-pure',
      severity: 'error',
      comment:
        'design.md: "`scim/`, `agents/` and `lib/` import nothing else from `src/`" (everything may ' +
        'use `lib/`). src/scim/ is the protocol, pure: no HTTP, no storage.',
      from: { path: '^src/scim/' },
      to: { path: '^src/', pathNot: '^src/(scim|lib)/' },
    },
    {
      name: 'agents-is-pure',
      severity: 'error',
      comment:
        'design.md: "`scim/`, `agents/` and `lib/` import nothing else from `src/`" (everything may ' +
        'use `lib/`). src/agents/ (including src/agents/records/) is the domain, pure: no SCIM wire ' +
        'format, no HTTP, no storage.',
      from: { path: '^src/agents/' },
      to: { path: '^src/', pathNot: '^src/(agents|lib)/' },
    },
    {
      name: 'lib-is-a-leaf',
      severity: 'error',
      comment:
        'design.md: "`scim/`, `agents/` and `lib/` import nothing else from `src/`". src/lib/ holds ' +
        'tiny shared leaves.',
      from: { path: '^src/lib/' },
      to: { path: '^src/', pathNot: '^src/lib/' },
    },
    {
      name: 'store-uses-scim-types-only',
      severity: 'error',
      comment:
        'design.md: "`store -> scim` (AST and registry types only)"; the store has "its own errors ' +
        '(never SCIM\'s)". Import scim types with `import type` (or `import(\'...\').T` types).',
      from: { path: '^src/store/' },
      to: { path: '^src/scim/', dependencyTypesNot: ['type-only', 'type-import'] },
    },
    {
      name: 'store-imports-only-scim-and-lib',
      severity: 'error',
      comment:
        'design.md: "`store -> scim` (AST and registry types only)"; "everything may use `lib/`". ' +
        'The store imports nothing else from src/.',
      from: { path: '^src/store/' },
      to: { path: '^src/', pathNot: '^src/(store|scim|lib)/' },
    },
    {
      name: 'connectors-not-to-sync-store-config',
      severity: 'error',
      comment:
        'design.md: connectors "Receive their settings slice; import nothing from sync/, store/, ' +
        'config/." (`sync -> connectors`, never the other way.)',
      from: { path: '^src/connectors/' },
      to: { path: '^src/(sync|store|config)/' },
    },
    {
      name: 'http-is-on-top',
      severity: 'error',
      comment:
        'design.md: "Direction: `http -> resources -> {agents, scim, store}`"; nothing below http ' +
        'imports src/http/.',
      from: { path: '^src/(resources|store|agents|scim|sync|connectors|records|jobs|signals|lib)/' },
      to: { path: '^src/http/' },
    },
    {
      name: 'cli-is-a-leaf',
      severity: 'error',
      comment:
        'design.md: src/cli/ is "the command line (commander); a client of the HTTP API": an entry ' +
        'point, imported by nothing else in src/.',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      // Folder-scope cycle: an edge between two folders in different top-level folders of src/
      // that lies on a folder-level cycle. Folders are dependency-cruiser's real folders
      // (src/store/sqlite, not src/store), so a cycle that exists only once subfolders are merged
      // into their top-level folder is not seen; the direction rules above catch most of those.
      name: 'no-cycles-between-top-level-folders',
      severity: 'error',
      scope: 'folder',
      comment:
        'design.md: the direction (`http -> resources -> {agents, scim, store}`, `store -> scim`, ' +
        '`sync -> connectors`) has no cycles; no two top-level folders of src/ depend on each other.',
      from: { path: '^src/([^/]+)' },
      to: { circular: true, pathNot: '^src/$1(/|$)' },
    },
    {
      name: 'not-to-dev-dep',
      severity: 'error',
      comment:
        'src/ ships in the package; a devDependency is not installed for users. Move the package to ' +
        '"dependencies" or stop importing it from src/.',
      from: { path: '^src/' },
      to: {
        dependencyTypes: ['npm-dev'],
        dependencyTypesNot: ['type-only'],
        pathNot: ['node_modules/@types/'],
      },
    },
    {
      name: 'not-to-unlisted-package',
      severity: 'error',
      comment:
        'src/ imports a package that is not in package.json (it works only by accident, as a ' +
        'transitive dependency). Add it to "dependencies".',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'src/ imports a module that cannot be resolved (on disk, in package.json or node core).',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    // See `import type` (dependencyTypes "type-only"), which plain transpiled JS would drop.
    tsPreCompilationDeps: true,
    // The project's tsconfig: NodeNext resolution, so `./x.js` imports resolve to `./x.ts`.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
