/**
 * `npm run setup:native [-- --gpu] [-- --force]`: native TensorFlow for training, from PyPI.
 *
 * @tensorflow/tfjs-node(-gpu) download libtensorflow 2.9.1 from a Google host at install time, and
 * that build needs CUDA 11.2. This script takes TensorFlow's libraries from PyPI instead:
 *   1. pip downloads the wheel (`tensorflow-cpu`, or `tensorflow` with the CUDA 12 `nvidia-*-cu12`
 *      wheels of its `and-cuda` extra for --gpu) into .tools/native/wheels;
 *   2. the two standalone libraries (libtensorflow_cc.so.2, libtensorflow_framework.so.2), the C API
 *      headers and, for the GPU, the CUDA libraries are unpacked into .tools/native/<variant>;
 *   3. the npm package is installed with its install script skipped (it would download again),
 *      its deps/ is laid out from that cache, and its N-API addon is compiled against it once
 *      (with npm's node-gyp and Node's own headers) and kept in the cache;
 *   4. a child process loads it and checks that tf.getBackend() is `tensorflow`.
 * Every step is skipped when its result is already there: a second run, or a run after
 * `npm ci` emptied node_modules, needs no network and no compiler.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const args = new Set(process.argv.slice(2));
const gpu = args.has('--gpu');
const force = args.has('--force');
for (const a of args) {
  if (!['--gpu', '--force'].includes(a)) fail(`unknown option ${a}; usage: npm run setup:native [-- --gpu] [-- --force]`);
}

/** The TensorFlow release whose libraries the addon binds; 2.12 is the first with standalone ones in the wheel. */
export const TF_VERSION = process.env.PERENNIAL_TF_VERSION ?? '2.21.0';
const WHEEL = gpu ? 'tensorflow' : 'tensorflow-cpu';
const PKG = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
const pkgVersion: string = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).optionalDependencies[PKG];
/** node-pre-gyp loads lib/napi-v<highest the package lists that Node has>; every Node >= 15 has 8 */
const NAPI = 8;
const PLATFORM_TAGS = ['manylinux_2_27_x86_64', 'manylinux_2_17_x86_64', 'manylinux2014_x86_64'];

const tools = path.join(root, '.tools', 'native');
const wheels = path.join(tools, 'wheels');
const cache = path.join(tools, `${gpu ? 'gpu' : 'cpu'}-tf${TF_VERSION}`);
const pkgDir = path.join(root, 'node_modules', ...PKG.split('/'));
const bindingName = `tfjs_binding-${pkgVersion}-napi${NAPI}-node${process.versions.modules}.node`;

function log(msg: string) { console.log(`setup:native: ${msg}`); }
function fail(msg: string): never {
  console.error(`setup:native: ${msg}`);
  process.exit(1);
}
function has(cmd: string, ...argv: string[]) {
  return spawnSync(cmd, argv.length ? argv : ['--version'], { stdio: 'ignore' }).status === 0;
}
function run(cmd: string, argv: string[], opts: { cwd?: string; quiet?: boolean } = {}) {
  const r = spawnSync(cmd, argv, { cwd: opts.cwd ?? root, stdio: opts.quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit', encoding: 'utf8' });
  if (r.status !== 0) fail(`${path.basename(cmd)} ${argv.slice(0, 3).join(' ')} ... failed (exit ${r.status})${opts.quiet ? `:\n${(r.stderr || r.stdout || '').slice(-3000)}` : ''}`);
  return r.stdout ?? '';
}
const python = ['python3', 'python'].find((p) => has(p));

/** Everything in the cache is there and complete: the marker is written last. */
const ready = () => fs.existsSync(path.join(cache, 'ready.json'));

function checkPlatform() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    fail(`native TensorFlow from PyPI is set up for Linux x86-64 only (this is ${process.platform} ${process.arch}); training uses WASM here`);
  }
}

function extract(wheel: string, dest: string, patterns: string[]) {
  // the wheel is a zip; Python's zipfile needs nothing installed and keeps symlinks out of the way
  const script = `
import fnmatch, os, sys, zipfile
wheel, dest, patterns = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.endswith('/') or not any(fnmatch.fnmatch(name, p) for p in patterns): continue
        target = os.path.join(dest, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(name) as src, open(target + '.part', 'wb') as out:
            while chunk := src.read(1 << 20): out.write(chunk)
        os.replace(target + '.part', target)
`;
  run(python!, ['-c', script, wheel, dest, ...patterns]);
}

function pipDownload(specs: string[]): string[] {
  fs.mkdirSync(wheels, { recursive: true });
  const before = new Set(fs.readdirSync(wheels));
  run(python!, ['-m', 'pip', 'download', '--disable-pip-version-check', '--no-deps', '--only-binary=:all:', '--python-version', '3.12',
    ...PLATFORM_TAGS.flatMap((t) => ['--platform', t]), '-d', wheels, ...specs]);
  const names = fs.readdirSync(wheels).filter((f) => f.endsWith('.whl'));
  // pip names a wheel with its normalised project name: tensorflow_cpu-2.21.0-..., nvidia_cudnn_cu12-9.3.0.75-...
  return specs.map((spec) => {
    const [project, version] = spec.split('==');
    const stem = `${project.replace(/[-.]/g, '_')}-${version}-`;
    const file = names.find((f) => f.toLowerCase().startsWith(stem.toLowerCase()));
    if (!file) fail(`pip did not leave a wheel for ${spec} in ${wheels} (${before.size} files before)`);
    return path.join(wheels, file);
  });
}

/** the CUDA wheels TensorFlow's `and-cuda` extra pins, read from the wheel's own metadata */
function cudaRequirements(tfWheel: string): string[] {
  const out = run(python!, ['-c', `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    meta = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
    for line in z.read(meta).decode().splitlines():
        if line.startswith('Requires-Dist:') and 'and-cuda' in line: print(line.split(':', 1)[1].split(';')[0].strip())
`, tfWheel], { quiet: true });
  // ranges such as `nvidia-cudnn-cu12<10.0,>=9.3.0.75`: take the lower bound, the release TensorFlow was
  // built and tested against, so the same wheels come every time (and from the cache, offline)
  const specs = out.split('\n').map((l) => l.replace(/\s+/g, '').replace(/\(|\)/g, '')).filter(Boolean).map((req) => {
    const name = /^[A-Za-z0-9_.-]+/.exec(req)?.[0];
    const pin = /==([\w.]+)/.exec(req)?.[1] ?? />=([\w.]+)/.exec(req)?.[1];
    if (!name || !pin) fail(`cannot pin the and-cuda requirement "${req}" of ${path.basename(tfWheel)}`);
    return `${name}==${pin}`;
  });
  if (!specs.length) fail(`${path.basename(tfWheel)} lists no CUDA wheels in its and-cuda extra`);
  return specs;
}

/** 1 and 2: the wheels, unpacked into the cache */
function fillCache() {
  if (!python || !has(python, '-m', 'pip', '--version')) fail('needs Python 3 with pip to fetch TensorFlow from PyPI (Debian: apt-get install -y python3 python3-pip)');
  fs.rmSync(cache, { recursive: true, force: true });
  const staging = `${cache}.partial`;
  fs.rmSync(staging, { recursive: true, force: true });
  log(`downloading ${WHEEL}==${TF_VERSION} from PyPI (about ${gpu ? '620' : '270'} MB)`);
  const [tfWheel] = pipDownload([`${WHEEL}==${TF_VERSION}`]);
  log(`unpacking libtensorflow and the C API headers from ${path.basename(tfWheel)}`);
  extract(tfWheel, staging, [
    'tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2',
    'tensorflow/include/tensorflow/c/*', 'tensorflow/include/tensorflow/core/platform/ctstring*', 'tensorflow/include/tsl/platform/ctstring*',
    'tensorflow/include/xla/tsl/c/*',
  ]);
  for (const lib of ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2']) {
    if (!fs.existsSync(path.join(staging, 'tensorflow', lib))) {
      fail(`${path.basename(tfWheel)} has no tensorflow/${lib}: wheels before 2.12 keep the C API inside Python's extension and cannot be used`);
    }
  }
  let cuda: string[] = [];
  if (gpu) {
    cuda = cudaRequirements(tfWheel);
    log(`downloading the CUDA 12 libraries TensorFlow ${TF_VERSION} pins: ${cuda.join(' ')}`);
    for (const w of pipDownload(cuda)) extract(w, staging, ['nvidia/*.so*']);
  }
  fs.writeFileSync(path.join(staging, 'ready.json'), JSON.stringify({ wheel: `${WHEEL}==${TF_VERSION}`, cuda, at: new Date().toISOString() }, null, 2));
  fs.renameSync(staging, cache);
}

/** hard links where they can be made (same file system, no copy of 850 MB), else copies */
function linkTree(from: string, to: string) {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const a = path.join(from, entry.name);
    const b = path.join(to, entry.name);
    if (entry.isDirectory()) linkTree(a, b);
    else {
      try { fs.linkSync(a, b); } catch { fs.copyFileSync(a, b); }
    }
  }
}

/** 3: the package, its deps/ from the cache, and its addon */
function installPackage() {
  const installed = fs.existsSync(path.join(pkgDir, 'package.json'))
    && JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version === pkgVersion;
  if (!installed) {
    log(`installing ${PKG}@${pkgVersion} without its install script (which would download libtensorflow 2.9.1)`);
    // --prefer-offline: from npm's cache when it has the package, so a warm machine needs no registry
    run(process.platform === 'win32' ? 'npm.cmd' : 'npm',
      ['install', '--no-save', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', `${PKG}@${pkgVersion}`], { quiet: true });
  }
  const deps = path.join(pkgDir, 'deps');
  const target = path.join(pkgDir, 'lib', `napi-v${NAPI}`, 'tfjs_binding.node');
  // already laid out from this cache: nothing to touch (a running process may have these libraries open)
  const stamp = path.join(deps, 'perennial-native.json');
  const wanted = JSON.stringify({ cache: path.relative(root, cache), binding: bindingName, ready: fs.readFileSync(path.join(cache, 'ready.json'), 'utf8') });
  if (!force && installed && fs.existsSync(target) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted) return;
  fs.rmSync(deps, { recursive: true, force: true });
  // The addon links -ltensorflow -ltensorflow_framework from deps/lib with rpath $ORIGIN/../../deps/lib.
  // In the GPU wheel, libtensorflow_framework finds the CUDA libraries through its RUNPATH
  // ($ORIGIN/../nvidia/<lib>/lib), so nvidia/ sits beside lib/ exactly as in site-packages.
  const lib = path.join(deps, 'lib');
  fs.mkdirSync(lib, { recursive: true });
  for (const f of ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2']) {
    try { fs.linkSync(path.join(cache, 'tensorflow', f), path.join(lib, f)); } catch { fs.copyFileSync(path.join(cache, 'tensorflow', f), path.join(lib, f)); }
  }
  linkTree(path.join(cache, 'tensorflow', 'include'), path.join(deps, 'include'));
  fs.symlinkSync('libtensorflow_cc.so.2', path.join(lib, 'libtensorflow.so.2'));
  fs.symlinkSync('libtensorflow.so.2', path.join(lib, 'libtensorflow.so'));
  fs.symlinkSync('libtensorflow_framework.so.2', path.join(lib, 'libtensorflow_framework.so'));
  // tfjs-node's own install script skips its download when this file is there
  fs.writeFileSync(path.join(lib, 'libtensorflow.so.2.9.1'), `placeholder: the libraries here are TensorFlow ${TF_VERSION} from PyPI (npm run setup:native)\n`);
  if (gpu) linkTree(path.join(cache, 'nvidia'), path.join(deps, 'nvidia'));

  const cached = path.join(cache, 'bindings', bindingName);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  if (!force && fs.existsSync(cached)) {
    fs.copyFileSync(cached, target);
  } else {
    buildAddon(target);
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    fs.copyFileSync(target, cached);
  }
  fs.writeFileSync(stamp, wanted);
}

function buildAddon(target: string) {
  const missing = ['g++', 'make'].filter((c) => !has(c));
  if (!python) missing.push('python3');
  if (missing.length) fail(`compiling the addon needs ${missing.join(', ')} (Debian: apt-get install -y g++ make python3)`);
  const gyp = nodeGyp();
  // Node's own headers, where the Node install has them (Debian's nodejs, the official tarball): no download
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const nodedir = fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
  log(`compiling ${PKG}'s N-API addon against TensorFlow ${TF_VERSION}`);
  run(process.execPath, [gyp, 'rebuild', ...nodedir, `--napi_build_version=${NAPI}`, '--module_name=tfjs_binding',
    `--module_path=${path.dirname(target)}`], { cwd: pkgDir, quiet: true });
  fs.rmSync(path.join(pkgDir, 'build'), { recursive: true, force: true });
  if (!fs.existsSync(target)) fail(`node-gyp finished but ${target} is not there`);
}

/** npm's bundled node-gyp: npm sets npm_config_node_gyp for scripts; else beside npm itself */
function nodeGyp(): string {
  const candidates = [
    process.env.npm_config_node_gyp,
    process.env.npm_execpath && path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  const found = candidates.find((c) => c && fs.existsSync(c));
  if (!found) fail('npm\'s node-gyp was not found (looked beside npm); run this through `npm run setup:native`');
  return found;
}

/** 4: a fresh process loads the backend and computes with it */
function verify() {
  const probe = `
const tf = await import('@tensorflow/tfjs');
await import('${PKG}');
const ok = await tf.setBackend('tensorflow');
const y = tf.tensor2d([[1, 2], [3, 4]]).matMul(tf.tensor2d([[1], [1]])).dataSync();
console.log(JSON.stringify({ backend: tf.getBackend(), ok, tf: tf.backend().binding.TF_Version, y: Array.from(y) }));
`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: root, encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let result: { backend: string; tf: string; y: number[] } | undefined;
  try { result = JSON.parse(line); } catch { /* reported below */ }
  if (r.status !== 0 || result?.backend !== 'tensorflow' || result.y.join() !== '3,7') {
    fail(`the native backend does not load:\n${(r.stderr || r.stdout).slice(-3000)}`);
  }
  return result;
}

function main() {
  const t0 = Date.now();
  checkPlatform();
  if (!pkgVersion) fail(`${PKG} is not among package.json's optionalDependencies`);
  if (force || !ready()) fillCache();
  else log(`TensorFlow ${TF_VERSION} (${WHEEL}) already in ${path.relative(root, cache)}`);
  installPackage();
  const result = verify();
  log(`${PKG} ${pkgVersion} on TensorFlow ${result.tf}: tf.getBackend() is '${result.backend}' (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  if (gpu) {
    const smi = has('nvidia-smi') ? execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8' }).trim() : '';
    log(smi ? `CUDA device: ${smi}` : 'no CUDA device is visible on this machine: the GPU build trains on the CPU until it runs where one is');
  }
}

main();
