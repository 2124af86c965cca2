//go:build !unix

package inbox_test

// cpuTime is not measured here: the benchmarks that need it skip.
func cpuTime() int64 { return 0 }
