package check

import (
	"os"
	"testing"

	"github.com/zerodowntime/deploy-load-check/internal/check/checktest"
)

func TestMain(m *testing.M) {
	checktest.RaiseParallel(8)
	os.Exit(m.Run())
}
