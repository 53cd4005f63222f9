// Reads a Hugging Face cache folder with huggingface.js's scanCacheDir (@huggingface/hub, a port
// of huggingface_hub's scan_cache_dir) and prints what it found as JSON on stdout.
// Usage: NODE_PATH=<peers>/node_modules node scan_cache.js CACHE_DIR
"use strict";
const path = require("path");
const { scanCacheDir } = require("@huggingface/hub");

async function main() {
  const root = process.argv[2];
  const info = await scanCacheDir(root);
  const repos = info.repos.map((repo) => ({
    id: repo.id.name,
    type: repo.id.type,
    files: repo.filesCount,
    size: repo.size,
    revisions: repo.revisions.map((revision) => ({
      commit: revision.commitOid,
      refs: [...revision.refs].sort(),
      files: revision.files
        .map((file) => ({
          path: path.relative(revision.path, file.path),
          blob: path.relative(repo.path, file.blob.path),
          size: file.blob.size,
        }))
        .sort((a, b) => a.path.localeCompare(b.path)),
    })),
  }));
  process.stdout.write(JSON.stringify({ repos, warnings: info.warnings.map((w) => String(w.message || w)) }) + "\n");
}

main().catch((error) => {
  process.stderr.write(`scan_cache.js: ${error.stack || error}\n`);
  process.exit(1);
});
