//go:build race

package stats

// raceDetector is set when the tests run with -race, which makes encoding
// the parts' histograms about ten times slower.
const raceDetector = true
