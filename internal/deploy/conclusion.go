package deploy

import "fmt"

// conclusions are the sentences DescribeConclusion gives, one for each
// conclusion GitHub documents for workflow runs and jobs.
var conclusions = map[string]string{
	"success":         "it succeeded",
	"failure":         "it failed: a job failed; the run's log says which step",
	"cancelled":       "it was cancelled before it finished, by someone, by a newer run of its concurrency group, or by a cancel request",
	"timed_out":       "it timed out: a job ran past its timeout-minutes (360 minutes unless set) and was stopped",
	"action_required": "it needs someone to act before it can go on, such as approving a run from a fork or a first-time contributor",
	"stale":           "it went stale: GitHub marked it so after it stayed incomplete for too long, and it will not finish",
	"startup_failure": "it failed to start: the workflow file is invalid, or a reusable workflow, action or setting it needs could not be loaded; the run's page says why",
	"skipped":         "it was skipped: the if: conditions of its jobs were false, so nothing was deployed",
	"neutral":         "it ended neutral, neither success nor failure, so it does not show that the deploy happened",
}

// DescribeConclusion says in one lower-case sentence what a run's or a
// job's conclusion means for the deploy, for the summary and the log: the
// conclusions GitHub documents each get their own, an empty one says the
// run has not completed, and any other is quoted as it came.
func DescribeConclusion(conclusion string) string {
	if conclusion == "" {
		return "it has not completed"
	}
	if s, ok := conclusions[conclusion]; ok {
		return s
	}
	return fmt.Sprintf("it ended with conclusion %q, which GitHub does not document", conclusion)
}
