// Package workerhost builds the Temporal worker that runs the concurrency test:
// it reads the endpoint configuration (the allow-list of endpoints, each with
// its base URL and the variable holding its key) from the worker's
// environment and registers the workflow and the activities. The keys stay in
// this process; no workflow or activity input or result carries them, and a
// run chooses an endpoint by name, never by URL.
package workerhost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/measure"
	"github.com/llmconc/llmconc/metrics"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/workflows"
)

// DefaultBaseURL is OpenAI's API.
const DefaultBaseURL = "https://api.openai.com/v1"

// Environment variables read by ConfigFromEnv.
const (
	EnvAPIKey  = "OPENAI_API_KEY"
	EnvBaseURL = "OPENAI_BASE_URL"
	// EnvEndpoints is the allow-list of further endpoints: a JSON array
	// (see EndpointSpec), inline when it starts with '[', else the path of a
	// file that holds it.
	EnvEndpoints = "LLMCONC_ENDPOINTS"
)

// MaxEndpoints bounds the allow-list, so that the worker's identity, which
// names every endpoint, stays well within Temporal's 1000-character limit.
const MaxEndpoints = 20

// EndpointSpec is one entry of LLMCONC_ENDPOINTS. It names the environment
// variable that holds the endpoint's key, never the key itself.
type EndpointSpec struct {
	Name    string `json:"name"`
	BaseURL string `json:"base_url"`
	KeyEnv  string `json:"key_env"`
	Label   string `json:"label,omitempty"`
	// Kind is the endpoint's API: "openai" (the default) or "azure"
	// (KindAzure: base_url is the resource URL and the run's model the
	// deployment name).
	Kind string `json:"kind,omitempty"`
	// APIVersion is an Azure endpoint's api-version, such as 2024-10-21.
	APIVersion string `json:"api_version,omitempty"`
}

// Endpoint is one endpoint the worker serves, with its key.
type Endpoint struct {
	Name    string
	BaseURL string
	// APIKey is the key, read from the worker's environment.
	APIKey string
	// KeyEnv is the variable the key came from, for messages.
	KeyEnv string
	Label  string
	// Kind is "" (OpenAI's API) or KindAzure; APIVersion is Azure's
	// api-version.
	Kind       string
	APIVersion string
}

// Config is the worker's endpoint configuration: the endpoint named
// "default" (APIKey, BaseURL, Label: OPENAI_API_KEY and OPENAI_BASE_URL) and
// the allow-listed ones. A run chooses among them by name.
type Config struct {
	APIKey  string
	BaseURL string
	// Label describes the endpoint in results, e.g. "built-in simulator".
	Label string
	// Endpoints are the other endpoints, by name (LLMCONC_ENDPOINTS).
	Endpoints []Endpoint
	// TaskQueue defaults to workflows.TaskQueue.
	TaskQueue string
	// Metrics, when set, observes every endpoint's requests
	// (LLMCONC_METRICS_ADDR).
	Metrics *metrics.Metrics
}

// ConfigError is a problem with the worker's configuration: the user's to
// fix, one line per problem.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string { return strings.Join(e.Problems, "\n") }

// ExitCode is the worker's exit code for an error of Run: 2 for a
// configuration problem, 1 otherwise.
func ExitCode(err error) int {
	var ce *ConfigError
	if errors.As(err, &ce) {
		return 2
	}
	return 1
}

// ConfigFromEnv reads OPENAI_API_KEY, OPENAI_BASE_URL and LLMCONC_ENDPOINTS
// through getenv (os.Getenv in production) and checks them. The default
// endpoint is optional when LLMCONC_ENDPOINTS lists others.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{APIKey: strings.TrimSpace(getenv(EnvAPIKey)), BaseURL: strings.TrimSpace(getenv(EnvBaseURL))}
	if cfg.BaseURL == "" && cfg.APIKey != "" {
		cfg.BaseURL = DefaultBaseURL
	}
	spec := strings.TrimSpace(getenv(EnvEndpoints))
	if spec == "" {
		if cfg.BaseURL == "" {
			cfg.BaseURL = DefaultBaseURL
		}
		return cfg, cfg.Validate()
	}
	specs, err := readEndpoints(spec)
	if err != nil {
		return cfg, &ConfigError{[]string{err.Error()}}
	}
	if cfg.APIKey == "" && cfg.BaseURL != "" {
		return cfg, &ConfigError{[]string{EnvBaseURL + " is set but " + EnvAPIKey + " is not: set both for the endpoint \"default\", or neither"}}
	}
	for _, sp := range specs {
		cfg.Endpoints = append(cfg.Endpoints, sp.resolve(getenv))
	}
	return cfg, cfg.Validate()
}

// readEndpoints parses LLMCONC_ENDPOINTS: inline JSON, or a file's path.
func readEndpoints(spec string) ([]EndpointSpec, error) {
	where, data := EnvEndpoints, []byte(spec)
	if !strings.HasPrefix(spec, "[") {
		b, err := os.ReadFile(spec)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot read %s (%v); it takes a JSON array such as [{\"name\": \"local\", \"base_url\": \"http://127.0.0.1:8000/v1\", \"key_env\": \"LOCAL_KEY\"}], inline or in that file", EnvEndpoints, spec, errors.Unwrap(err))
		}
		where, data = EnvEndpoints+" file "+spec, b
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var specs []EndpointSpec
	if err := dec.Decode(&specs); err != nil {
		return nil, fmt.Errorf("%s is not a JSON array of {\"name\", \"base_url\", \"key_env\", \"label\", \"kind\", \"api_version\"} objects: %v (a key belongs in the variable that key_env names)", where, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s holds more than one JSON array", where)
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("%s lists no endpoint", where)
	}
	return specs, nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// resolve reads the endpoint's key from the environment, when key_env is a
// variable's name; Validate reports what is missing.
func (s EndpointSpec) resolve(getenv func(string) string) Endpoint {
	ep := Endpoint{Name: strings.TrimSpace(s.Name), BaseURL: strings.TrimSpace(s.BaseURL), KeyEnv: strings.TrimSpace(s.KeyEnv), Label: s.Label,
		Kind: strings.TrimSpace(s.Kind), APIVersion: strings.TrimSpace(s.APIVersion)}
	if ep.Kind == KindOpenAI {
		ep.Kind = ""
	}
	if envName.MatchString(ep.KeyEnv) {
		ep.APIKey = strings.TrimSpace(getenv(ep.KeyEnv))
	}
	return ep
}

// keyProblem says why an allow-listed endpoint has no key. It never repeats
// key_env's value unless that is a variable's name, in case a key was put
// there by mistake.
func keyProblem(ep Endpoint) string {
	switch {
	case ep.KeyEnv == "":
		return "key_env is missing: name the environment variable that holds the key"
	case !envName.MatchString(ep.KeyEnv):
		return "key_env must be the name of an environment variable (letters, digits and _), not the key itself"
	case keyPrefix.MatchString(ep.KeyEnv) || randomToken(ep.KeyEnv):
		// A key such as Groq's gsk_… is also a valid variable name.
		return "key_env looks like a key (not repeated here): it must be the name of the environment variable that holds the key"
	}
	return fmt.Sprintf("%s (its key_env) is not set in the worker's environment: export %s=...", ep.KeyEnv, ep.KeyEnv)
}

// specName names an entry in messages: its name when it is one, else its
// position.
func specName(i int, name string) string {
	if record.CheckEndpointName(strings.TrimSpace(name)) == nil {
		return fmt.Sprintf("%q", strings.TrimSpace(name))
	}
	return fmt.Sprintf("#%d", i+1)
}

// All lists the endpoints served: "default" first when configured, then the
// allow-listed ones in their order.
func (c Config) All() []Endpoint {
	var all []Endpoint
	if c.hasDefault() {
		all = append(all, Endpoint{Name: record.DefaultEndpoint, BaseURL: c.BaseURL, APIKey: c.APIKey, KeyEnv: EnvAPIKey, Label: c.Label})
	}
	return append(all, c.Endpoints...)
}

// hasDefault reports whether the endpoint "default" comes from APIKey and
// BaseURL: when a key is set, or when nothing else is configured (and
// Validate asks for the key).
func (c Config) hasDefault() bool { return c.APIKey != "" || len(c.Endpoints) == 0 }

// Names lists the names of the endpoints served, in the order of All.
func (c Config) Names() []string {
	var names []string
	for _, ep := range c.All() {
		names = append(names, ep.Name)
	}
	return names
}

// Validate checks the configuration with the messages a user needs, one line
// per problem (a *ConfigError).
func (c Config) Validate() error {
	var problems []string
	if len(c.Endpoints) > MaxEndpoints {
		problems = append(problems, fmt.Sprintf("%s lists %d endpoints; at most %d", EnvEndpoints, len(c.Endpoints), MaxEndpoints))
	}
	seen := map[string]bool{}
	for i, ep := range c.All() {
		if i == 0 && c.hasDefault() {
			problems = append(problems, checkDefault(ep)...)
			seen[ep.Name] = true
			continue
		}
		j := i
		if c.hasDefault() {
			j--
		}
		where := fmt.Sprintf("%s: endpoint %s", EnvEndpoints, specName(j, ep.Name))
		if err := record.CheckEndpointName(ep.Name); err != nil {
			problems = append(problems, fmt.Sprintf("%s: bad name: %v", where, err))
			continue
		}
		if seen[ep.Name] {
			if ep.Name == record.DefaultEndpoint {
				problems = append(problems, where+": \"default\" is already the endpoint of "+EnvAPIKey+" and "+EnvBaseURL+": give this one another name, or unset "+EnvAPIKey)
			} else {
				problems = append(problems, where+": listed twice; names must be unique")
			}
			continue
		}
		seen[ep.Name] = true
		if ep.APIKey == "" {
			problems = append(problems, where+": "+keyProblem(ep))
		}
		if msg := checkURL(ep.BaseURL, "base_url", "the variable that key_env names", c.keys()...); msg != "" {
			problems = append(problems, where+": "+msg)
		}
		if msg := checkKind(ep); msg != "" {
			problems = append(problems, where+": "+msg)
		}
	}
	if len(problems) > 0 {
		return &ConfigError{problems}
	}
	return nil
}

// checkDefault checks the endpoint of OPENAI_API_KEY and OPENAI_BASE_URL.
func checkDefault(ep Endpoint) []string {
	if ep.APIKey == "" {
		return []string{EnvAPIKey + " is not set: the worker needs the API key in its environment (export " + EnvAPIKey + "=..., or list endpoints in " + EnvEndpoints + ")"}
	}
	if msg := checkURL(ep.BaseURL, EnvBaseURL, EnvAPIKey, ep.APIKey); msg != "" {
		return []string{msg}
	}
	return nil
}

// keys lists the keys of every endpoint: none may appear in a base URL.
func (c Config) keys() []string {
	var keys []string
	for _, ep := range c.All() {
		keys = append(keys, ep.APIKey)
	}
	return keys
}

// Warnings lists what the worker says at start-up about a configuration that
// works but deserves attention: a key shorter than measure.ShortKeyLen
// characters, which is redacted from what the endpoint sends only where it
// stands as a whole word.
func (c Config) Warnings() []string {
	var out []string
	for _, ep := range c.All() {
		if ep.APIKey != "" && measure.NewRedactor(ep.APIKey).IsShort() {
			out = append(out, fmt.Sprintf("endpoint %q: its key (%s) is shorter than %d characters: it is redacted from what the endpoint sends only where it stands as a whole word, never inside one (fine for a test key such as the simulator's)", ep.Name, ep.KeyEnv, measure.ShortKeyLen))
		}
	}
	return out
}

// checkURL returns what is wrong with an endpoint's base URL, or "". A base
// URL is a scheme (http or https), a host with an optional port, and a
// path: credentials, a query string or a fragment are refused (a key pasted
// there would be logged and recorded), and so is anything that looks like a
// key (see looksLikeKey), or a piece of one of keys. The message never
// repeats the URL; it says where the key goes instead.
func checkURL(raw, what, keyGoes string, keys ...string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Sprintf("%s is not a URL such as %s (not repeated here, in case it holds a key)", what, DefaultBaseURL)
	case strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r > '~' }):
		return fmt.Sprintf("%s must be printable ASCII without spaces (an international host name goes in its xn-- form)", what)
	case u.User != nil:
		return fmt.Sprintf("%s must not carry credentials; put the key in %s", what, keyGoes)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#"):
		return fmt.Sprintf("%s must not have a query string or a fragment (a base URL is scheme, host, port and path); put a key in %s", what, keyGoes)
	case looksLikeKey(raw, keys):
		return fmt.Sprintf("%s holds what looks like an API key (not repeated here): put the key in %s, not in the URL", what, keyGoes)
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Sprintf("%s is not an http(s) URL such as %s (scheme %q)", what, DefaultBaseURL, truncateName(u.Scheme))
	}
	return ""
}

// truncateName cuts a name for a message.
func truncateName(s string) string {
	if len(s) > 16 || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
		return "…"
	}
	return s
}

// keyPrefix matches the start of common API keys (OpenAI sk-/sk-proj-,
// Anthropic sk-ant-, Groq gsk_, Hugging Face hf_, xAI xai-, Google AIza)
// followed by enough key characters.
var keyPrefix = regexp.MustCompile(`(?:^|[^A-Za-z0-9])(?:sk-|sk_|gsk_|hf_|xai-|pk-|rk-|AIza)[A-Za-z0-9_-]{16,}`)

// looksLikeKey reports whether a base URL holds a key: one of keys (or a
// piece of one of 8 characters or more), text that starts like a known API
// key, or a path segment of 32 or more letters and digits that mixes upper
// case, lower case and digits (random base62, as keys are; host names and
// hex IDs such as account IDs are not refused).
func looksLikeKey(raw string, keys []string) bool {
	for _, k := range keys {
		if k != "" && measure.NewRedactor(k).Redact(raw) != raw {
			return true
		}
	}
	if keyPrefix.MatchString(raw) {
		return true
	}
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	for _, seg := range strings.FieldsFunc(u.Path, func(r rune) bool { return r == '/' }) {
		if randomToken(seg) {
			return true
		}
	}
	return false
}

// randomToken reports whether s looks like random base62, as keys are: 32
// characters or more, mixing upper case, lower case and digits.
func randomToken(s string) bool {
	if len(s) < 32 {
		return false
	}
	var upper, lower, digit bool
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= '0' && r <= '9':
			digit = true
		}
	}
	return upper && lower && digit
}

// SafeURL returns a base URL as it is shown and recorded: scheme, host
// (with its port) and path, without a trailing slash. Validate refuses
// anything else, so this only drops what it could not have held.
func SafeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return strings.TrimRight((&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String(), "/")
}

// NewActivities returns the activities bound to the configured endpoints:
// one OpenAI client, HTTP client and connection pool per endpoint.
func NewActivities(cfg Config) *activities.Activities {
	var top *activities.Activities
	for _, ep := range cfg.All() {
		a := newEndpointActivities(ep)
		a.Observer = observer(cfg.Metrics, ep.Name)
		if top == nil {
			top = a
			continue
		}
		if top.Others == nil {
			top.Others = map[string]*activities.Activities{}
		}
		top.Others[ep.Name] = a
	}
	return top
}

func newEndpointActivities(ep Endpoint) *activities.Activities {
	oc := openai.DefaultConfig(ep.APIKey)
	oc.BaseURL = SafeURL(ep.BaseURL)
	if ep.Kind == KindAzure {
		oc = azureConfig(ep)
	}
	pool := &measure.ConnPool{}
	hc := measure.NewHTTPClient(pool)
	oc.HTTPClient = hc
	return &activities.Activities{
		Client:     openai.NewClientWithConfig(oc),
		Endpoint:   record.Endpoint{Name: ep.Name, BaseURL: oc.BaseURL, Label: ep.Label},
		Pool:       pool,
		HTTPClient: hc,
		Secret:     ep.APIKey,
	}
}

// Identity is the worker's identity on Temporal: the SDK's usual
// "<pid>@<host>@" followed by "endpoints=" and the names it serves. The
// Temporal UI shows it on the task queue's Workers tab, and the starter reads
// it (DescribeTaskQueue) to refuse, before it starts a run, an endpoint that
// no worker serves. Names only: never a URL or a key.
func Identity(names []string) string { return identity(names, "") }

// identity is Identity with name after the SDK's "<pid>@<host>@", where the
// SDK puts nothing: it tells apart workers of one process (tests).
func identity(names []string, name string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return fmt.Sprintf("%d@%s@%s %s%s", os.Getpid(), host, name, identityPrefix, strings.Join(names, ","))
}

const identityPrefix = "endpoints="

// EndpointsOf returns the endpoint names in a worker's identity. A worker
// that does not list them (one from before endpoints had names) serves only
// "default".
func EndpointsOf(identity string) []string {
	for _, f := range strings.Fields(identity) {
		if rest, ok := strings.CutPrefix(f, identityPrefix); ok {
			return strings.Split(rest, ",")
		}
	}
	return []string{record.DefaultEndpoint}
}

// HeartbeatThrottle is the most a batch's heartbeat waits in the worker
// before it goes to Temporal. A batch heartbeats the requests it has
// answered (see activities.SendProgress); if its worker dies, what was
// answered after its last heartbeat is sent again by the retry. The SDK's
// default, 80 % of the heartbeat timeout, would leave up to 8 s of answers
// unsaved. It is also the time the SDK gives each heartbeat's call
// (max(throttle, 1 s)): at 1 s, a concurrent pass of 10,000 on a busy 2-core
// machine saw hundreds of heartbeats time out in the call, and batches
// taken for lost (no heartbeat for the 10 s heartbeat timeout) and sent
// again. At 3 s each call has 3 s, the 10 s timeout still sees three of
// them, and a lost worker leaves at most about 3 s of answers unsaved.
const HeartbeatThrottle = 3 * time.Second

// Options sizes the worker. WorkerStopTimeout lets batches in flight finish
// (or time out and be recorded) when the worker is stopped, instead of being
// cancelled and sent again by another worker. The concurrent pass runs at most a few dozen
// activities at once (the shards), each of which keeps its share of the
// requests in flight on goroutines, so any concurrency fits; the pollers are
// raised so that all shards are picked up quickly.
func Options() worker.Options {
	return worker.Options{
		MaxConcurrentActivityExecutionSize:     1000,
		MaxConcurrentActivityTaskPollers:       16,
		MaxConcurrentWorkflowTaskPollers:       4,
		MaxConcurrentWorkflowTaskExecutionSize: 100,
		WorkerStopTimeout:                      30 * time.Second,
		MaxHeartbeatThrottleInterval:           HeartbeatThrottle,
		DeadlockDetectionTimeout:               DeadlockDetection,
	}
}

// New returns a worker on the configured task queue with the workflow and the
// activities registered. The caller starts and stops it.
func New(c client.Client, cfg Config) (worker.Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return NewWith(c, cfg.TaskQueue, NewActivities(cfg)), nil
}

// NewWith returns a worker on taskQueue (default workflows.TaskQueue) that
// runs the workflow and the given activities.
func NewWith(c client.Client, taskQueue string, acts *activities.Activities) worker.Worker {
	return newWorker(c, taskQueue, acts, "")
}

// newWorker is NewWith with a name added to the identity (see
// NewTestWorker).
func newWorker(c client.Client, taskQueue string, acts *activities.Activities, name string) worker.Worker {
	if taskQueue == "" {
		taskQueue = workflows.TaskQueue
	}
	opts := Options()
	opts.Identity = identity(acts.EndpointNames(), name)
	acts.Identity = opts.Identity
	w := worker.New(c, taskQueue, opts)
	w.RegisterWorkflow(workflows.ConcurrencyTest)
	w.RegisterWorkflow(workflows.ConcurrencyProbe)
	w.RegisterWorkflow(workflows.ConcurrencyComparison)
	activities.Register(w, acts)
	return w
}

// TuneRuntime sets the garbage collector for a load generator: a concurrent
// pass allocates in one burst (a connection's buffers, a request, a
// response, for every request at once), and a collection in the middle of
// it delays the sends. Collecting at 4x the live heap instead of 2x keeps the
// burst short for a few MiB more memory. A GOGC set in the environment wins.
// A soft memory limit (MemoryLimit, unless GOMEMLIMIT is set) bounds what
// that costs at scale: past it the collector runs as often as it must.
func TuneRuntime(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit)
	}
}
