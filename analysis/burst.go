package analysis

import (
	"fmt"

	"github.com/llmconc/llmconc/record"
)

// MaxCleanSpreadFraction is the share of a pass's mean latency above which
// its start spread makes the burst untrustworthy (BurstWarning).
const MaxCleanSpreadFraction = 0.1

// connectionCounts returns the distinct connections the records name, and
// how many records went out on a cold connection (connection_warm false:
// the request connected or shook hands when it was sent). Records made
// before connections were measured count in neither.
func connectionCounts(records []record.Request) (conns, cold int) {
	seen := map[string]bool{}
	for _, r := range records {
		if r.Connection != "" && !seen[r.Connection] {
			seen[r.Connection] = true
		}
		if r.ConnectionWarm != nil && !*r.ConnectionWarm {
			cold++
		}
	}
	return len(seen), cold
}

// BurstWarning says, in one plain sentence, why a concurrent pass's burst is
// not to be trusted, or returns "": when some requests opened their
// connection at the send instant (cold_connections > 0), or when the start
// spread exceeds 10 % of the pass's mean latency. The verdict does not
// change; the sentence says how far to trust it.
func BurstWarning(s PassSummary) string {
	spread := s.AverageLatencySeconds > 0 && s.StartSpreadSeconds > MaxCleanSpreadFraction*s.AverageLatencySeconds
	switch {
	case s.ColdConnections > 0 && spread:
		return fmt.Sprintf("The burst was not clean: %d requests opened their connection only when they were sent, and the sends spread over %.3fs, more than 10%% of the mean latency (%.2fs), so the concurrent figures include the client's own delays.",
			s.ColdConnections, s.StartSpreadSeconds, s.AverageLatencySeconds)
	case s.ColdConnections > 0:
		return fmt.Sprintf("The burst was not clean: %d requests opened their connection only when they were sent, so their latency includes connecting.",
			s.ColdConnections)
	case spread:
		return fmt.Sprintf("The burst was not clean: the sends spread over %.3fs, more than 10%% of the mean latency (%.2fs), so the requests did not all leave together.",
			s.StartSpreadSeconds, s.AverageLatencySeconds)
	}
	return ""
}
