package stats

import vegeta "github.com/tsenart/vegeta/v12/lib"

// VersionOf reads the version of the server that answered res as a
// Recorder with opts reads it: from the header, or else the JSON field;
// "" when neither is there.
func VersionOf(res *vegeta.Result, opts Options) string { return versionOf(res, opts) }
