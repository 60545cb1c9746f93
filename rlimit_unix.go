//go:build unix

package main

import "syscall"

// raiseFileLimit lifts the open-file limit to its hard ceiling: every
// request in flight may hold a socket. It warns when even the ceiling is
// below what max-workers could need.
func raiseFileLimit(workers uint64, logf func(string, ...any)) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			lim = raised
		}
	}
	// Sockets for the workers, plus files, pipes and the runtime's own.
	if need := workers + 64; uint64(lim.Cur) < need {
		logf("warning: the open-file limit is %d, below the %d that max-workers %d may need; concurrency will be capped there and the shortfall reported", lim.Cur, need, workers)
	}
}
