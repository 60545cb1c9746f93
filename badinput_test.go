package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

// badInput is one bad value: the inputs and arguments that carry it, the
// input its message must name and what the message must hold.
type badInput struct {
	name   string
	deploy bool // dispatch a deploy through a stand-in GitHub
	inputs map[string]string
	args   []string
	input  string // the input the message must name
	want   string // what the message must hold: the bad value, quoted
	// unsaid, when set, is part of a secret value the message must not
	// quote.
	unsaid string
}

// q quotes a value as the messages do.
var q = strconv.Quote

// badInputs: $API stands for the loopback API the case runs against.
var badInputs = []badInput{
	// rate
	{name: "a rate of nothing", inputs: map[string]string{"rate": "0"}, input: "rate", want: q("0")},
	{name: "a rate per a unitless duration", inputs: map[string]string{"rate": "50/1"}, input: "rate", want: q("50/1")},
	{name: "a zero rate", inputs: map[string]string{"rate": "0/1s"}, input: "rate", want: q("0/1s")},
	{name: "a negative rate", inputs: map[string]string{"rate": "-5/1s"}, input: "rate", want: q("-5/1s")},
	{name: "a rate per zero seconds", inputs: map[string]string{"rate": "50/0s"}, input: "rate", want: q("50/0s")},
	{name: "a fractional number of requests", inputs: map[string]string{"rate": "1.5/1s"}, input: "rate", want: q("1.5/1s")},
	{name: "a rate above a million a second", inputs: map[string]string{"rate": "2000000/1s"}, input: "rate", want: q("2000000/1s")},

	// durations
	{name: "a zero duration", inputs: map[string]string{"duration": "0s"}, input: "duration", want: q("0s")},
	{name: "a negative duration", inputs: map[string]string{"duration": "-1m"}, input: "duration", want: q("-1m")},
	{name: "a duration without a unit", inputs: map[string]string{"duration": "60"}, input: "duration", want: q("60")},
	{name: "a zero request timeout", inputs: map[string]string{"timeout": "0s"}, input: "timeout", want: q("0s")},
	{name: "a negative ramp-up", inputs: map[string]string{"ramp-up": "-1s"}, input: "ramp-up", want: q("-1s")},
	{name: "a ramp-up longer than the run", inputs: map[string]string{"ramp-up": "2m", "duration": "1m"}, input: "ramp-up", want: q("2m")},

	// targets
	{name: "a lower-case method mistaken for one", inputs: map[string]string{"targets": "fetch $API/health"}, input: "targets", want: q("fetch $API/health")},
	{name: "a lower-case method", inputs: map[string]string{"targets": "get $API/health"}, input: "targets", want: q("get $API/health")},
	{name: "an ftp URL", inputs: map[string]string{"targets": "$API/health\nGET ftp://127.0.0.1/file"}, input: "targets", want: q("ftp://127.0.0.1/file")},
	{name: "a URL without a scheme", inputs: map[string]string{"targets": "127.0.0.1:8080/health"}, input: "targets", want: q("127.0.0.1:8080/health")},
	{name: "a scheme-relative URL", inputs: map[string]string{"targets": "//127.0.0.1/health"}, input: "targets", want: q("//127.0.0.1/health")},
	{name: "a URL without a host", inputs: map[string]string{"targets": "http:///health"}, input: "targets", want: q("http:///health")},
	{name: "a malformed IPv6 URL", inputs: map[string]string{"targets": "http://[::1/health"}, input: "targets", want: q("http://[::1/health")},
	{name: "a port out of range", inputs: map[string]string{"targets": "http://127.0.0.1:99999/health"}, input: "targets", want: q("99999")},
	{name: "a target line with three fields", inputs: map[string]string{"targets": "GET $API/health now"}, input: "targets", want: q("GET $API/health now")},
	{name: "an empty target list", inputs: map[string]string{"targets": ""}, input: "targets", want: "is empty, and so is targets-file"},
	{name: "a target list of comments", inputs: map[string]string{"targets": "# GET $API/health\n\n"}, input: "targets", want: "no targets"},
	{name: "a name given to two targets", inputs: map[string]string{"targets": "# @name health\n$API/health\n\n# @name health\n$API/ready"}, input: "targets", want: q("health")},

	// limits and thresholds
	{name: "an error rate above 100%", inputs: map[string]string{"max-error-rate": "150%"}, input: "max-error-rate", want: q("150%")},
	{name: "an error rate above one as a fraction", inputs: map[string]string{"max-error-rate": "1.5"}, input: "max-error-rate", want: q("1.5")},
	{name: "a negative error rate", inputs: map[string]string{"max-error-rate": "-1%"}, input: "max-error-rate", want: q("-1%")},
	{name: "a negative latency", inputs: map[string]string{"max-p95": "-5ms"}, input: "max-p95", want: q("-5ms")},
	{name: "a latency without a unit", inputs: map[string]string{"max-p99": "500"}, input: "max-p99", want: q("500")},
	{name: "a downtime in words", inputs: map[string]string{"max-downtime": "never"}, input: "max-downtime", want: q("never")},
	{name: "a percentile above 100", inputs: map[string]string{"thresholds": "p(95)<400ms\np(101)<1s"}, input: "thresholds", want: q("p(101)<1s")},
	{name: "a negative percentile", inputs: map[string]string{"thresholds": "p(-1)<1s"}, input: "thresholds", want: q("p(-1)<1s")},
	{name: "a doubled operator", inputs: map[string]string{"thresholds": "p(95)<<3"}, input: "thresholds", want: q("p(95)<<3")},
	{name: "a threshold without an operator", inputs: map[string]string{"thresholds": "avg 200ms"}, input: "thresholds", want: q("avg 200ms")},
	{name: "an unknown metric", inputs: map[string]string{"thresholds": "latency<1s"}, input: "thresholds", want: q("latency<1s")},
	{name: "a percentile without parentheses", inputs: map[string]string{"thresholds": "p95<500ms"}, input: "thresholds", want: q("p95<500ms") + `: unknown metric "p95"; a percentile is written p(95), as in k6`},
	{name: "a k6 percentile without parentheses", inputs: map[string]string{"thresholds": "http_req_duration: p99.9<1500"}, input: "thresholds", want: "a percentile is written p(99.9)"},
	{name: "an error-rate threshold above 100%", inputs: map[string]string{"thresholds": "error_rate<150%"}, input: "thresholds", want: q("error_rate<150%")},
	{name: "a negative downtime threshold", inputs: map[string]string{"thresholds": "downtime<=-1s"}, input: "thresholds", want: q("downtime<=-1s")},

	// the deploy
	{name: "broken JSON in workflow-inputs", deploy: true, inputs: map[string]string{"workflow-inputs": `{"version":`}, input: "workflow-inputs", want: q(`{"version":`)},
	{name: "a nested workflow input", deploy: true, inputs: map[string]string{"workflow-inputs": `{"version": {"tag": "v2"}}`}, input: "workflow-inputs", want: q("version")},
	{name: "a workflow-inputs line without a value", deploy: true, inputs: map[string]string{"workflow-inputs": "version"}, input: "workflow-inputs", want: q("version")},
	{name: "a workflow input given twice", deploy: true, inputs: map[string]string{"workflow-inputs": "version=1\nversion=2"}, input: "workflow-inputs", want: q("version=2")},
	{name: "broken JSON in client-payload", deploy: true, inputs: map[string]string{"workflow": "", "event-type": "deploy", "client-payload": `{"version"`}, input: "client-payload", want: q(`{"version"`)},
	{name: "a client-payload that is not an object", deploy: true, inputs: map[string]string{"workflow": "", "event-type": "deploy", "client-payload": `["v2"]`}, input: "client-payload", want: q(`["v2"]`)},
	{name: "a repository without a slash", deploy: true, inputs: map[string]string{"repository": "acme"}, input: "repository", want: q("acme")},
	{name: "a repository without a name", deploy: true, inputs: map[string]string{"repository": "acme/"}, input: "repository", want: q("acme/")},
	{name: "a repository with a path", deploy: true, inputs: map[string]string{"repository": "acme/shop/actions"}, input: "repository", want: q("acme/shop/actions")},
	{name: "a workflow given as a path", deploy: true, inputs: map[string]string{"workflow": ".github/workflows/deploy-staging.yml"}, input: "workflow", want: q(".github/workflows/deploy-staging.yml")},
	{name: "a workflow-ref with a space", deploy: true, inputs: map[string]string{"workflow-ref": "release 2"}, input: "workflow-ref", want: q("release 2")},
	{name: "a correlation input with a space", deploy: true, inputs: map[string]string{"correlation-input": "run id"}, input: "correlation-input", want: q("run id")},
	{name: "fail-on-deploy-failure that is not a boolean", deploy: true, inputs: map[string]string{"fail-on-deploy-failure": "maybe"}, input: "fail-on-deploy-failure", want: q("maybe")},
	{name: "a zero poll interval", deploy: true, inputs: map[string]string{"poll-interval": "0s"}, input: "poll-interval", want: q("0s")},
	{name: "a zero deploy timeout", deploy: true, inputs: map[string]string{"deploy-timeout": "0s"}, input: "deploy-timeout", want: q("0s")},
	{name: "a negative head", deploy: true, inputs: map[string]string{"head": "-1s"}, input: "head", want: q("-1s")},
	{name: "a tail without a unit", deploy: true, inputs: map[string]string{"tail": "30"}, input: "tail", want: q("30")},
	{name: "a ramp-up longer than head", deploy: true, inputs: map[string]string{"ramp-up": "5s", "head": "1s"}, input: "ramp-up", want: q("5s")},
	{name: "a deploy without a token", deploy: true, inputs: map[string]string{"github-token": ""}, input: "github-token", want: "is empty"},

	{name: "a repository that climbs out", deploy: true, inputs: map[string]string{"repository": "../api"}, input: "repository", want: q("../api")},
	{name: "a repository named dot-dot", deploy: true, inputs: map[string]string{"repository": "acme/.."}, input: "repository", want: q("acme/..")},
	{name: "an owner with a space", deploy: true, inputs: map[string]string{"repository": "ac me/api"}, input: "repository", want: q("ac me/api")},
	{name: "a workflow with a query", deploy: true, inputs: map[string]string{"workflow": "deploy.yml?x=1"}, input: "workflow", want: q("deploy.yml?x=1")},
	{name: "a workflow that is not YAML", deploy: true, inputs: map[string]string{"workflow": "deploy.txt"}, input: "workflow", want: q("deploy.txt")},
	{name: "a workflow input without a name", deploy: true, inputs: map[string]string{"workflow-inputs": `{"":"x"}`}, input: "workflow-inputs", want: q(`{"":"x"}`)},
	{name: "a workflow input name with a space", deploy: true, inputs: map[string]string{"workflow-inputs": "a b=c"}, input: "workflow-inputs", want: q("a b=c")},
	{name: "a JSON workflow input given twice", deploy: true, inputs: map[string]string{"workflow-inputs": `{"a":"1","a":"2"}`}, input: "workflow-inputs", want: q("a")},
	{name: "a correlation input starting with a digit", deploy: true, inputs: map[string]string{"correlation-input": "1abc"}, input: "correlation-input", want: q("1abc")},
	{name: "a poll interval under a second", deploy: true, inputs: map[string]string{"poll-interval": "1ns"}, input: "poll-interval", want: q("1ns")},
	{name: "a poll interval longer than the deploy timeout", deploy: true, inputs: map[string]string{"poll-interval": "10s", "deploy-timeout": "5s"}, input: "poll-interval", want: q("10s")},
	{name: "an event type over 100 characters", deploy: true, inputs: map[string]string{"workflow": "", "event-type": strings.Repeat("x", 101)}, input: "event-type", want: q(strings.Repeat("x", 101))},
	{name: "a rate above max-rate", inputs: map[string]string{"rate": "5000/1s"}, input: "rate", want: q("5000/1s")},
	{name: "an ambiguous error rate of one", inputs: map[string]string{"max-error-rate": "1"}, input: "max-error-rate", want: q("1")},
	{name: "credentials in a target URL", inputs: map[string]string{"targets": "http://user:s3cret@127.0.0.1:1/"}, input: "targets", want: q("127.0.0.1:1")},
	{name: "an unknown placeholder", inputs: map[string]string{"targets": "# @template\n$API/{{nope}}"}, input: "targets", want: q("$API/{{nope}}")},
	{name: "a threshold for an unknown target", inputs: map[string]string{"thresholds": "search: p(95)<1s"}, input: "thresholds", want: q("search")},
	{name: "a header without a colon", inputs: map[string]string{"headers": "Accept application/json"}, input: "headers", want: q("Accept application/json")},
	{name: "a JWT key that is not a key", inputs: map[string]string{"jwt-private-key": "-----BEGIN NOTHING-----"}, input: "jwt-private-key", want: "cannot sign"},
	{name: "two auth inputs for one header", inputs: map[string]string{"bearer-token": "tok-1234567890", "jwt-secret": "jwt-secret-12345"}, input: "bearer-token", want: "jwt-secret"},
	{name: "an OAuth client without a secret", inputs: map[string]string{"oauth-token-url": "$API/token", "oauth-client-id": "me"}, input: "oauth-client-secret", want: "is empty"},
	{name: "a health URL that is not http", inputs: map[string]string{"health-url": "ftp://127.0.0.1/ready"}, input: "health-url", want: q("ftp://127.0.0.1/ready")},
	{name: "a version field path with a gap", inputs: map[string]string{"version-field": "build..version"}, input: "version-field", want: q("build..version")},
	{name: "a zero max-workers", inputs: map[string]string{"max-workers": "0"}, input: "max-workers", want: q("0")},

	// inputs set empty that need a value
	{name: "a rate set empty", inputs: map[string]string{"rate": ""}, input: "rate", want: "is empty; want "},
	{name: "a duration set empty", inputs: map[string]string{"duration": ""}, input: "duration", want: "is empty; want "},
	{name: "a boolean set empty", inputs: map[string]string{"fail-on-load-shortfall": ""}, input: "fail-on-load-shortfall", want: "is empty; want true or false"},
	{name: "a head set empty", deploy: true, inputs: map[string]string{"head": ""}, input: "head", want: "is empty; want "},

	// values no request can carry in a header; secrets are not quoted
	{name: "a bearer token with a control character", inputs: map[string]string{"bearer-token": "bearer-s3cret\x01"}, input: "bearer-token", want: "contains a control character, 0x01, at byte 14", unsaid: "bearer-s3cret"},
	{name: "a header value with a control character", inputs: map[string]string{"headers": "X-Api-Key: api-k3y\x02"}, input: "headers", want: `the value of header "X-Api-Key" contains a control character, 0x02, at byte 8`, unsaid: "api-k3y"},

	// conflicting inputs
	{name: "workflow and event-type together with workflow-inputs", deploy: true, inputs: map[string]string{"event-type": "deploy", "workflow-inputs": "version=2"}, input: "workflow-inputs", want: q("version=2")},
	{name: "client-payload with a workflow_dispatch", deploy: true, inputs: map[string]string{"client-payload": `{"version": "2"}`}, input: "client-payload", want: q(`{"version": "2"}`)},
	{name: "workflow-inputs without a workflow", inputs: map[string]string{"workflow-inputs": "version=2"}, input: "workflow-inputs", want: q("version=2")},
	{name: "client-payload without event-type", inputs: map[string]string{"client-payload": `{"version": "2"}`}, input: "client-payload", want: q(`{"version": "2"}`)},
	{name: "a workflow-ref without a workflow", inputs: map[string]string{"workflow-ref": "main"}, input: "workflow-ref", want: q("main")},
	{name: "a workflow-ref with event-type", deploy: true, inputs: map[string]string{"workflow": "", "event-type": "deploy", "workflow-ref": "main"}, input: "workflow-ref", want: q("main")},

	// replay and compare ($LOG is recordedLog, $POSTS a log of POSTs)
	{name: "a replay with targets", inputs: map[string]string{"replay-file": "$LOG", "replay-base-url": "$API"}, input: "replay-file", want: "targets is set too"},
	{name: "a replay without a base URL", inputs: map[string]string{"targets": "", "replay-file": "$LOG"}, input: "replay-base-url", want: "is empty"},
	{name: "a replay speed in words", inputs: map[string]string{"targets": "", "replay-file": "$LOG", "replay-base-url": "$API", "replay-speed": "fast"}, input: "replay-speed", want: q("fast")},
	{name: "a replay file that is not there", inputs: map[string]string{"targets": "", "replay-file": "$LOG.gz", "replay-base-url": "$API"}, input: "replay-file", want: q("$LOG.gz")},
	{name: "a recording with nothing to send", inputs: map[string]string{"targets": "", "replay-file": "$POSTS", "replay-base-url": "$API"}, input: "replay-file", want: "it holds POST 2"},
	{name: "a baseline without a replay", inputs: map[string]string{"compare-url": "$API"}, input: "compare-url", want: q("$API")},
	{name: "a baseline that is staging", inputs: map[string]string{"targets": "", "replay-file": "$LOG", "replay-base-url": "$API", "compare-url": "$API"}, input: "compare-url", want: "replay-base-url too"},
	{name: "a mismatch limit without a baseline", inputs: map[string]string{"targets": "", "replay-file": "$LOG", "replay-base-url": "$API", "max-mismatch-rate": "0%"}, input: "max-mismatch-rate", want: q("0%")},

	// the command line
	{name: "an unknown flag", args: []string{"--nope"}, input: "flags", want: "not defined: " + q("--nope")},
	{name: "an unknown flag with a value", args: []string{"--rate", "50/1s", "--bogus-flag=1"}, input: "flags", want: "not defined: " + q("--bogus-flag") + ";"},
	{name: "an unknown flag with one dash", args: []string{"-nope"}, input: "flags", want: "not defined: " + q("-nope")},
	{name: "a flag without its value", args: []string{"--rate"}, input: "flags", want: "needs an argument: " + q("--rate")},
	{name: "an argument that is not a flag", args: []string{"extra"}, input: "arguments", want: q("extra")},
	{name: "a flag with a bad value over a good input", inputs: map[string]string{"rate": "50/1s"}, args: []string{"--rate", "fast"}, input: "rate", want: q("fast")},
	{name: "a bad value in a repeated flag", args: []string{"--targets", "$API/a", "--targets", "fetch $API/b"}, input: "targets", want: q("fetch http")},
}

// TestEveryBadInputStopsTheRunBeforeAnyRequest runs the command as the
// runner starts the action, with one bad value at a time. Each run must exit with
// exitSetup and one message that names the input and quotes the value,
// before a single request reaches the API under test or GitHub.
func TestEveryBadInputStopsTheRunBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	for _, tt := range badInputs {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkBadInput(t, tt)
		})
	}
}

// checkBadInput runs the command with tt's bad value and checks that it
// stopped before any request with one message naming the input.
func checkBadInput(t *testing.T, tt badInput) {
	t.Helper()
	server, hits := countingServer(t, nil)
	logs := t.TempDir()
	log, posts := filepath.Join(logs, "access.log"), filepath.Join(logs, "posts.log")
	post := `1.2.3.4 - - [23/Nov/2026:12:00:00 +0000] "POST /v1/images HTTP/1.1" 201 1` + "\n"
	if os.WriteFile(log, []byte(recordedLog), 0o644) != nil || os.WriteFile(posts, []byte(post+post), 0o644) != nil {
		t.Fatal("writing the recordings")
	}
	expand := strings.NewReplacer("$API", server.URL, "$LOG", log, "$POSTS", posts).Replace

	inputs := map[string]string{"targets": server.URL + "/health", "rate": "50/1s", "duration": "2s"}
	env := map[string]string{}
	var github *deploytest.Server
	if tt.deploy {
		github = deploytest.NewServer(t, deploytest.WithToken(testToken))
		env["GITHUB_API_URL"] = github.URL
		inputs["workflow"] = "deploy-staging.yml"
		inputs["repository"] = github.FullName()
		inputs["github-token"] = testToken
		inputs["head"], inputs["tail"] = "1s", "1s"
	} else {
		env["GITHUB_API_URL"] = githubNeverCalled(t)
	}
	for k, v := range tt.inputs {
		inputs[k] = expand(v)
	}
	args := make([]string, len(tt.args))
	for i, a := range tt.args {
		args[i] = expand(a)
	}

	run := runCommand(t, nil, inputs, env, args...)

	if run.exit != exitSetup {
		t.Errorf("exit %d, want %d (exitSetup)\nstdout:\n%s\nstderr:\n%s", run.exit, exitSetup, run.stdout, run.stderr)
	}
	checkOneMessage(t, "stderr", run.stderr, "deploy-load-check: ", tt.input, expand(tt.want))
	checkOneMessage(t, "stdout", unescapeCommands(run.stdout), "::error::", tt.input, expand(tt.want))
	if tt.unsaid != "" {
		for _, line := range strings.Split(run.stderr+run.stdout, "\n") {
			if strings.Contains(line, tt.unsaid) && !strings.HasPrefix(line, "::add-mask::") {
				t.Errorf("a message quotes the secret value: %s", line)
			}
		}
	}
	if run.summary != "" || len(run.outputs) != 0 {
		t.Errorf("a bad input still wrote a summary or outputs: %q %v", run.summary, run.outputs)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the API under test answered %d requests despite the bad input", n)
	}
	if github != nil {
		if n := github.Count(deploytest.EndpointWorkflowDispatch) + github.Count(deploytest.EndpointRepositoryDispatch); n != 0 {
			t.Errorf("dispatched %d times despite the bad input", n)
		}
		// Inputs are parsed before the token is even checked.
		if calls := github.Calls(); len(calls) != 0 {
			t.Errorf("the stand-in GitHub got %d calls despite the bad input, first %s %s", len(calls), calls[0].Method, calls[0].Path)
		}
	}
}

// checkOneMessage checks that out has exactly one line starting with prefix,
// and that it names input and holds want.
func checkOneMessage(t *testing.T, stream, out, prefix, input, want string) {
	t.Helper()
	var messages []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, prefix) {
			messages = append(messages, line)
		}
	}
	if len(messages) != 1 {
		t.Errorf("%s has %d lines starting %q, want one:\n%s", stream, len(messages), prefix, out)
		return
	}
	msg := messages[0]
	if name := "input " + strconv.Quote(input); !strings.Contains(msg, name) {
		t.Errorf("%s message does not name %s: %s", stream, name, msg)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("%s message lacks %s: %s", stream, want, msg)
	}
}

// unescapeCommands undoes the escaping of workflow commands' data (% as %25,
// CR and LF as %0D and %0A), which the runner undoes before showing them.
var unescapeCommands = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace
