package check

import (
	"flag"
	"os"
	"testing"
)

// TestMain lets eight tests run at once unless -parallel was given: they
// spend their time waiting for load and deploys, not on the CPU.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", "8")
	}
	os.Exit(m.Run())
}
