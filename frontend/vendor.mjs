#!/usr/bin/env node
// Copy the pinned front-end libraries from frontend/node_modules into
// doorstep/static/vendor/ and write doorstep/static/vendor/MANIFEST.json.
//
//   cd frontend && npm ci && node vendor.mjs
//
// The output directory is rebuilt from scratch on every run, so files that
// are no longer listed here disappear. Output is deterministic (no
// timestamps): running it twice on the same package-lock.json gives no diff.
// Police networks have no internet: the script refuses to write any CSS/JS
// that would load something from another host (url()/@import to http(s)://
// or protocol-relative //).

import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NODE_MODULES = path.join(HERE, "node_modules");
const REPO = path.resolve(HERE, "..");
const VENDOR = path.join(REPO, "doorstep", "static", "vendor");

// Font stack used for map labels (directory name == value for `text-font`).
const GLYPH_FONTSTACK = "Noto Sans Regular";

// [package, source path inside the package, destination under static/vendor, transform?]
const FILES = [
  ["@tabler/core", "dist/css/tabler.min.css", "tabler/tabler.min.css"],
  ["@tabler/core", "dist/js/tabler.min.js", "tabler/tabler.min.js"],
  ["htmx.org", "dist/htmx.min.js", "htmx/htmx.min.js"],
  ["maplibre-gl", "dist/maplibre-gl.js", "maplibre-gl/maplibre-gl.js"],
  ["maplibre-gl", "dist/maplibre-gl.css", "maplibre-gl/maplibre-gl.css"],
  ["echarts", "dist/echarts.min.js", "echarts/echarts.min.js"],
  ["@tabler/icons-webfont", "dist/tabler-icons.min.css", "tabler-icons/tabler-icons.min.css", woff2Only],
  ["@tabler/icons-webfont", "dist/fonts/tabler-icons.woff2", "tabler-icons/fonts/tabler-icons.woff2"],
  // The Chinese font embedded (subset) in generated PDFs: agreements, bulletins (doorstep/core/pdf.py).
  // TrueType outlines, so the PDF library can subset it; SIL Open Font License.
  ["@expo-google-fonts/noto-sans-sc", "400Regular/NotoSansSC_400Regular.ttf", "fonts/NotoSansSC-Regular.ttf"],
  ["@expo-google-fonts/noto-sans-sc", "LICENSE_FONT", "fonts/OFL.txt"],
];

// Prebuilt SDF glyph ranges (PBF) for one font stack, all 256 ranges 0-65535.
const GLYPH_PACKAGE = "tileserver-gl-styles";
const GLYPH_SRC_DIR = `fonts/${GLYPH_FONTSTACK}`;

function fail(msg) {
  console.error(`vendor.mjs: ERROR: ${msg}`);
  process.exit(1);
}

function pkgDir(name) {
  return path.join(NODE_MODULES, ...name.split("/"));
}

function pkgVersion(name) {
  const file = path.join(pkgDir(name), "package.json");
  if (!fs.existsSync(file)) fail(`${name} is not installed; run \`npm ci\` in frontend/ first`);
  return JSON.parse(fs.readFileSync(file, "utf8")).version;
}

// Tabler Icons' @font-face lists woff2, woff and ttf; only woff2 is shipped
// (every supported browser uses it), so reference only that file.
function woff2Only(css) {
  const re = /(@font-face\{font-family:"tabler-icons";[^}]*?src:)url\("\.\/fonts\/tabler-icons\.woff2(\?[^"]*)?"\) format\("woff2"\)[^;}]*/;
  if (!re.test(css)) fail("tabler-icons.min.css: @font-face src not in the expected form; update woff2Only()");
  return css.replace(re, (_m, head, query) => `${head}url("./fonts/tabler-icons.woff2${query ?? ""}") format("woff2")`);
}

// The .map files are not shipped; drop the comments that would make the
// browser's devtools request them (404 noise).
function stripSourceMaps(text) {
  return text
    .replace(/^[ \t]*\/\/[#@][ \t]*sourceMappingURL=[^\r\n]*(\r?\n)?/gm, "")
    .replace(/\/\*[#@][ \t]*sourceMappingURL=[^*]*\*\/[ \t]*(\r?\n)?/g, "");
}

// url(...) or @import pointing at another host.
const REMOTE_REF = /(url\(\s*["']?\s*(https?:)?\/\/)|(@import\s+(url\()?\s*["']?\s*(https?:)?\/\/)/i;

function sha256(buf) {
  return createHash("sha256").update(buf).digest("hex");
}

function write(dest, buf) {
  const abs = path.join(VENDOR, dest);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, buf);
}

const manifestFiles = [];
const usedPackages = new Set();

function vendorFile(pkg, src, dest, transform) {
  const abs = path.join(pkgDir(pkg), src);
  if (!fs.existsSync(abs)) fail(`${pkg}: ${src} not found (package layout changed?)`);
  let buf = fs.readFileSync(abs);
  if (/\.(css|js)$/.test(dest)) {
    let text = buf.toString("utf8");
    text = stripSourceMaps(text);
    if (transform) text = transform(text);
    if (/sourceMappingURL=/.test(text)) fail(`${dest}: sourceMappingURL comment left after stripping`);
    const m = text.match(REMOTE_REF);
    if (m) fail(`${dest}: remote reference would break offline use: ...${text.slice(Math.max(0, m.index - 40), m.index + 80)}...`);
    buf = Buffer.from(text, "utf8");
  } else if (transform) {
    buf = transform(buf);
  }
  write(dest, buf);
  usedPackages.add(pkg);
  manifestFiles.push({ path: dest, package: pkg, sha256: sha256(buf), bytes: buf.length });
}

// ---------------------------------------------------------------------------

if (!fs.existsSync(NODE_MODULES)) fail("frontend/node_modules missing; run `npm ci` in frontend/ first");

fs.rmSync(VENDOR, { recursive: true, force: true });
fs.mkdirSync(VENDOR, { recursive: true });

for (const [pkg, src, dest, transform] of FILES) vendorFile(pkg, src, dest, transform);

// Glyphs: require the complete set of 256 ranges so that no {range} request can 404.
{
  const dir = path.join(pkgDir(GLYPH_PACKAGE), GLYPH_SRC_DIR);
  if (!fs.existsSync(dir)) fail(`${GLYPH_PACKAGE}: ${GLYPH_SRC_DIR} not found`);
  for (let start = 0; start < 65536; start += 256) {
    const range = `${start}-${start + 255}.pbf`;
    vendorFile(GLYPH_PACKAGE, `${GLYPH_SRC_DIR}/${range}`, `glyphs/${GLYPH_FONTSTACK}/${range}`);
  }
}

manifestFiles.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
const packages = [...usedPackages].sort().map((name) => ({ name, version: pkgVersion(name) }));
const manifest = {
  generated_by: "frontend/vendor.mjs (cd frontend && npm ci && node vendor.mjs)",
  glyphs: {
    fontstack: GLYPH_FONTSTACK,
    path: "glyphs/{fontstack}/{range}.pbf",
    ranges: "0-255 ... 65280-65535 (all 256)",
  },
  packages,
  files: manifestFiles,
};
fs.writeFileSync(path.join(VENDOR, "MANIFEST.json"), JSON.stringify(manifest, null, 2) + "\n");

const total = manifestFiles.reduce((n, f) => n + f.bytes, 0);
for (const p of packages) console.log(`${p.name}@${p.version}`);
console.log(`vendored ${manifestFiles.length} files, ${(total / 1024 / 1024).toFixed(2)} MiB into ${path.relative(REPO, VENDOR)}/`);
