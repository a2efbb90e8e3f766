// make_ocfljs_root.js: build tests/mount/data/ocfljs-root with @ocfl/ocfl-fs (another OCFL implementation).
// Usage: (cd some-dir && npm install @ocfl/ocfl-fs@0.2.2) && NODE_PATH=some-dir/node_modules node make_ocfljs_root.js OUT
// The output is committed, so the tests need neither node nor npm.
const ocfl = require('@ocfl/ocfl-fs');
const fs = require('fs');

async function main() {
  const root = process.argv[2];
  fs.rmSync(root, { recursive: true, force: true });
  const storage = ocfl.storage({ root, layout: { extensionName: '0004-hashed-n-tuple-storage-layout' } });
  await storage.create();

  // three versions: add, modify + rename, remove + unicode names
  const a = storage.object('urn:example:ocfljs/alpha');
  await a.update(async (t) => {
    await t.write('readme.txt', 'hello from ocfl-js\n');
    await t.write('data/numbers.csv', 'n,square\n1,1\n2,4\n3,9\n');
    await t.write('data/deep/er/leaf.bin', Buffer.from([0, 1, 2, 3, 254, 255]));
  });
  await a.update(async (t) => {
    await t.write('readme.txt', 'hello again, version two\n');
    await t.rename('data/numbers.csv', 'data/squares.csv');
    await t.write('empty.txt', '');
  });
  await a.update(async (t) => {
    await t.remove('empty.txt');
    await t.write('unicodé/naïve café.txt', 'ünïcödé\n');
    await t.write('data/copy-of-leaf.bin', Buffer.from([0, 1, 2, 3, 254, 255]));
  });

  // a single-version object whose id has characters the mount must encode
  const b = storage.object('.hidden/100%/id');
  await b.update(async (t) => {
    await t.write('a.txt', 'A\n');
    await t.write('dir with spaces/b.txt', 'B\n'.repeat(1000));
  });
}

main().catch((e) => { console.error(e); process.exit(1); });
