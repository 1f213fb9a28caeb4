/**
 * Every preset, as resolveConfig builds it and as PRESETS holds it, against a fixture written from
 * the presets before they were rebuilt from named parts (issue #24 item 17): a change to a preset
 * shows up here as the key that changed. A deliberate change to a preset regenerates the fixture:
 *   node --import tsx scripts/preset-fixture.ts > test/fixtures/presets.json && npx biome format --write test/fixtures/presets.json
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { PRESET_NAMES, PRESETS, resolveConfig } from '../src/model/config.ts';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/presets.json', import.meta.url), 'utf8')) as {
  resolved: Record<string, unknown>;
  raw: Record<string, unknown>;
};

test("the preset names are the fixture's, in order", () => {
  assert.deepEqual(PRESET_NAMES, Object.keys(fixture.resolved));
});

for (const name of Object.keys(fixture.resolved)) {
  test(`preset ${name}: resolved config and raw preset equal the fixture`, () => {
    // through JSON, as a saved config is: undefined keys drop out on both sides
    assert.deepEqual(JSON.parse(JSON.stringify(resolveConfig(name))), fixture.resolved[name]);
    assert.deepEqual(JSON.parse(JSON.stringify(PRESETS[name])), fixture.raw[name]);
  });
}
