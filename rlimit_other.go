//go:build !unix

package main

func raiseFileLimit(uint64, func(string, ...any)) {}
