import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientBucket, fnv1a, SOURCE_BUCKETS, sourceBucket } from './client-buckets.ts';

test('FNV-1a 32-bit reference values', () => {
  assert.equal(fnv1a(''), 0x811c9dc5);
  assert.equal(fnv1a('a'), 0xe40c292c);
  assert.equal(fnv1a('foobar'), 0xbf9cf968);
});

test('configured names are their own bucket; everyone else is hashed into source-00…source-63', () => {
  assert.equal(clientBucket({ kind: 'key', name: 'ci' }), 'ci');
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const b = clientBucket({ kind: i % 2 ? 'peer' : 'passthrough', name: `10.0.${i >> 8}.${i & 255}` });
    assert.match(b, /^source-\d{2}$/);
    seen.add(b);
  }
  assert.equal(seen.size, SOURCE_BUCKETS);
  assert.equal(sourceBucket(''), sourceBucket('unknown'));
  assert.equal(clientBucket({ kind: 'peer', name: '::1' }), sourceBucket('::1'), 'stable');
});
