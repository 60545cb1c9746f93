// k6 side of bench/run.sh: open-model load at a constant arrival rate, the
// executor that matches deploy-load-check and vegeta. Response bodies are
// discarded, as the other two tools do with theirs.
import http from 'k6/http';

export const options = {
  discardResponseBodies: true,
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
  scenarios: {
    load: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE),
      timeUnit: '1s',
      duration: __ENV.DURATION,
      // Few VUs: each is a JavaScript runtime, and at loopback latency
      // (well under 5 ms) 20 carry 4,000/s; k6 starts more if they do not.
      preAllocatedVUs: 20,
      maxVUs: 2000,
    },
  },
};

export default function () {
  http.get(__ENV.URL, { timeout: '10s' });
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY]: JSON.stringify(data) };
}
