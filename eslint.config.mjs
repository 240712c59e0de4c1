// ESLint for the pages' JavaScript (`make lint`). Each page loads its own small file: the job
// and upload pages plain scripts, the result page ES modules (player/). The site's CSP allows
// scripts from our static files only, so nothing here may build code from strings or write
// markup into the document.
import js from "@eslint/js";
import globals from "globals";

const safety = {
  eqeqeq: ["error", "always"],
  "no-eval": "error",
  "no-implied-eval": "error",
  "no-new-func": "error",
  "no-restricted-properties": [
    "error",
    { object: "document", property: "write", message: "Navigate or build nodes instead." },
    { object: "document", property: "writeln", message: "Navigate or build nodes instead." },
  ],
  "no-restricted-syntax": [
    "error",
    {
      selector: "AssignmentExpression[left.property.name=/^(innerHTML|outerHTML)$/]",
      message: "Set textContent or build nodes: markup from strings is how script gets in.",
    },
    {
      selector: "CallExpression[callee.property.name='insertAdjacentHTML']",
      message: "Set textContent or build nodes: markup from strings is how script gets in.",
    },
  ],
  "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
  "no-shadow": "error",
  "prefer-const": "error",
};

export default [
  {
    // the vendored time-stretch module (make player-assets) is a library's build, not ours
    ignores: [
      "node_modules/", "var/", ".venv/", "test-artifacts/", "staticfiles/",
      "demixer/player/static/player/vendor/",
    ],
  },
  js.configs.recommended,
  {
    files: ["demixer/**/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2020,
      sourceType: "script",
      globals: { ...globals.browser },
    },
    rules: { ...safety, strict: ["error", "function"], "no-implicit-globals": "error" },
  },
  {
    files: [
      "demixer/player/static/player/*.js",
      "demixer/separation/static/separation/*.js",
    ],
    languageOptions: { sourceType: "module" },
    rules: {
      strict: "off",
      "no-var": "error",
      // modules hand each other objects (imports, parameters); nothing hangs off the window
      "no-restricted-syntax": [
        ...safety["no-restricted-syntax"],
        {
          selector: "AssignmentExpression[left.object.name=/^(window|globalThis|self)$/]",
          message: "No globals: export it, or hand it over as a parameter.",
        },
      ],
    },
  },
  {
    // the player's pure logic under Node's test runner (make test-js)
    files: ["tests/js/**/*.mjs"],
    languageOptions: { sourceType: "module", globals: { ...globals.node } },
    rules: { ...safety, "no-var": "error" },
  },
  {
    files: ["eslint.config.mjs"],
    languageOptions: { globals: { ...globals.node } },
  },
];
