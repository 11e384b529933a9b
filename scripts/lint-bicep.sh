#!/usr/bin/env bash
# Compiles and lints the Azure templates: deploy/azure/main.bicep and the modules it uses.
#
#   scripts/lint-bicep.sh                 bicep build + bicep lint (the real compiler)
#   scripts/lint-bicep.sh --syntax-only   parse every .bicep file with the tree-sitter Bicep grammar
#
# The compiler is the Bicep CLI: `bicep` on PATH, or the Azure CLI's `az bicep` (which downloads
# Bicep on first use). Neither can be installed offline from the registries this project reaches
# (npm, Debian), so CI cannot run this mode; see docs/deploy.md.
#
# --syntax-only needs the devDependencies tree-sitter-bicep and web-tree-sitter (npm). It reports
# syntax errors only: no type checking, no resource property or API version validation, and it
# accepts a few things the compiler refuses. It is a smoke check, not a substitute for the build.
set -euo pipefail
cd "$(dirname "$0")/.."

main=deploy/azure/main.bicep
files=(deploy/azure/*.bicep deploy/azure/modules/*.bicep)

if [[ "${1:-}" == "--syntax-only" ]]; then
  node - "${files[@]}" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const Parser = require('web-tree-sitter');

const main = async () => {
  await Parser.init();
  const grammarDir = path.dirname(require.resolve('tree-sitter-bicep/package.json'));
  const language = await Parser.Language.load(path.join(grammarDir, 'tree-sitter-bicep.wasm'));
  const parser = new Parser();
  parser.setLanguage(language);
  let failed = 0;
  for (const file of process.argv.slice(2)) {
    const problems = [];
    const visit = (node) => {
      if (node.type === 'ERROR' || node.isMissing) {
        const { row, column } = node.startPosition;
        const what = node.isMissing ? `missing ${node.type}` : 'syntax error';
        problems.push(`${file}:${row + 1}:${column + 1}: ${what} near ${JSON.stringify(node.text.slice(0, 60))}`);
        return;
      }
      for (const child of node.children) visit(child);
    };
    visit(parser.parse(fs.readFileSync(file, 'utf8')).rootNode);
    if (problems.length > 0) {
      failed += 1;
      console.error(problems.join('\n'));
    }
  }
  console.log(`bicep syntax: ${process.argv.length - 2 - failed} files parsed, ${failed} with errors`);
  process.exitCode = failed > 0 ? 1 : 0;
};
main().catch((error) => {
  console.error(error);
  process.exitCode = 2;
});
EOF
  exit
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
if command -v bicep >/dev/null 2>&1; then
  bicep --version
  bicep build "$main" --outdir "$out"
  bicep lint "$main"
elif command -v az >/dev/null 2>&1; then
  az bicep version
  az bicep build --file "$main" --outdir "$out"
  az bicep lint --file "$main"
else
  echo "lint-bicep: no Bicep CLI on PATH (install the Azure CLI, or the bicep binary from the Bicep releases)." >&2
  echo "lint-bicep: scripts/lint-bicep.sh --syntax-only checks the syntax alone." >&2
  exit 2
fi
echo "bicep: $main and its modules compile and pass the linter"
