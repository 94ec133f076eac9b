import { describe, expect, it } from "vitest";
import { metricNamesIn } from "./__fixtures__/promql-metric-names.js";

describe("metricNamesIn", () => {
  it("finds the metric of a histogram quantile, not its functions, aggregation labels or numbers", () => {
    const expr =
      "histogram_quantile(0.99, sum by (le, route) (rate(gateway_http_request_duration_seconds_bucket[5m])))";
    expect(metricNamesIn(expr)).toEqual(["gateway_http_request_duration_seconds_bucket"]);
  });

  it("reads both sides of a ratio and leaves label matchers, strings and Grafana variables out", () => {
    const expr =
      'sum(rate(gateway_upstream_requests_total{route="fallback", x=~"a|b"}[$__rate_interval])) ' +
      "/ on (instance) group_left (job) sum(rate(cache_owner_reads_total[1m] offset 5m)) > bool 1e3";
    expect(metricNamesIn(expr)).toEqual(["gateway_upstream_requests_total", "cache_owner_reads_total"]);
  });

  it("reads a bare selector, `or` between selectors, and a name once however often it is used", () => {
    expect(metricNamesIn('up{job="breaker-coordinator"} == 0')).toEqual(["up"]);
    expect(metricNamesIn("max by (breaker) (a_state == 2 or b_state == 2 or a_state)")).toEqual(["a_state", "b_state"]);
  });
});
