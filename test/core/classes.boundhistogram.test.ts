import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as prom from 'prom-client';
import { BoundHistogram } from '../../ts/core/classes.boundhistogram.js';

describe('BoundHistogram', () => {
  it('exports cumulative buckets (a value on a bound counts in it), +Inf, sum and count per label set, in Prometheus text', async () => {
    const registry = new prom.Registry();
    const histogram = new BoundHistogram('test_seconds', 'a test', ['route', 'method'], [0.1, 1], registry);
    const get = histogram.bind('/a "quoted"', 'GET');
    const put = histogram.bind('/b', 'PUT');
    for (const value of [0.05, 0.1, 0.5, 1, 7]) get(value);
    put(2);
    const text = await registry.metrics();
    assert.equal(
      text,
      [
        '# HELP test_seconds a test',
        '# TYPE test_seconds histogram',
        'test_seconds_bucket{route="/a \\"quoted\\"",method="GET",le="0.1"} 2',
        'test_seconds_bucket{route="/a \\"quoted\\"",method="GET",le="1"} 4',
        'test_seconds_bucket{route="/a \\"quoted\\"",method="GET",le="+Inf"} 5',
        'test_seconds_sum{route="/a \\"quoted\\"",method="GET"} 8.65',
        'test_seconds_count{route="/a \\"quoted\\"",method="GET"} 5',
        'test_seconds_bucket{route="/b",method="PUT",le="0.1"} 0',
        'test_seconds_bucket{route="/b",method="PUT",le="1"} 0',
        'test_seconds_bucket{route="/b",method="PUT",le="+Inf"} 1',
        'test_seconds_sum{route="/b",method="PUT"} 2',
        'test_seconds_count{route="/b",method="PUT"} 1',
        '',
      ].join('\n'),
    );
  });

  it('starts again from zero on a registry reset; bound observers keep counting', async () => {
    const registry = new prom.Registry();
    const histogram = new BoundHistogram('reset_seconds', 'a test', ['route'], [1], registry);
    const observe = histogram.bind('/a');
    observe(0.5);
    registry.resetMetrics();
    observe(3);
    assert.match(await registry.metrics(), /reset_seconds_bucket\{route="\/a",le="1"\} 0\nreset_seconds_bucket\{route="\/a",le="\+Inf"\} 1\nreset_seconds_sum\{route="\/a"\} 3\n/);
  });
});
