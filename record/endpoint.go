package record

import (
	"fmt"
	"regexp"
)

// Endpoint describes the endpoint a run measured: its name in the worker's
// allow-list, its base URL as recorded (scheme, host, port and path only)
// and a human label. It never holds a key.
type Endpoint struct {
	// Name is the endpoint's name in the worker's allow-list ("" for
	// DefaultEndpoint).
	Name    string `json:"name,omitempty"`
	BaseURL string `json:"base_url"`
	// Label is a human description such as "built-in simulator".
	Label string `json:"label,omitempty"`
}

// DefaultEndpoint is the name of the endpoint that a worker configures with
// OPENAI_API_KEY and OPENAI_BASE_URL, and that a run uses unless it names
// another.
const DefaultEndpoint = "default"

// MaxEndpointNameLen bounds an endpoint's name.
const MaxEndpointNameLen = 32

var endpointName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// CheckEndpointName checks that name can name an endpoint: 1 to 32 lowercase
// letters, digits, '.', '_' or '-', starting with a letter or a digit. The
// error does not repeat the name.
func CheckEndpointName(name string) error {
	if len(name) > MaxEndpointNameLen || !endpointName.MatchString(name) {
		return fmt.Errorf("an endpoint name is 1 to %d lowercase letters, digits, '.', '_' or '-', starting with a letter or a digit", MaxEndpointNameLen)
	}
	return nil
}
