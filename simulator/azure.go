package simulator

import (
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// DefaultAzureAPIVersion is the api-version an Azure-mode Server serves when
// Config.AzureAPIVersion is empty: a generally available version of the
// Azure OpenAI data-plane API.
const DefaultAzureAPIVersion = "2024-10-21"

// azureVersion is the form of an Azure OpenAI api-version.
var azureVersion = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-preview)?$`)

// registerAzureFlags defines -azure and -azure-api-version.
func (c *Config) registerAzureFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.Azure, "azure", c.Azure, "serve Azure OpenAI's API: POST /openai/deployments/{model}/chat/completions?api-version=..., the key in the api-key header")
	fs.StringVar(&c.AzureAPIVersion, "azure-api-version", c.AzureAPIVersion, "with -azure: the api-version required in the query (default "+DefaultAzureAPIVersion+")")
}

// azureError checks the Azure settings.
func (c Config) azureError() error {
	if c.AzureAPIVersion == "" {
		return nil
	}
	if !c.Azure {
		return errors.New("-azure-api-version needs -azure")
	}
	if !azureVersion.MatchString(c.AzureAPIVersion) {
		return fmt.Errorf("-azure-api-version must look like %s (YYYY-MM-DD, optionally -preview), got %q", DefaultAzureAPIVersion, c.AzureAPIVersion)
	}
	return nil
}

// apiRoot is where the Server's API lives under its address: /v1 for
// OpenAI's API, the resource root for Azure's (clients add /openai/...).
func (s *Server) apiRoot() string {
	if s.cfg.Azure {
		return ""
	}
	return "/v1"
}

// serveAzure serves a request in Azure mode and reports whether it did:
// everything but the simulator's own /sim/ endpoints. A chat completion is
// POST /openai/deployments/{deployment}/chat/completions?api-version=V,
// where the deployment is one of the served models and V the configured
// version; the key comes in the api-key header. Errors use Azure's error
// body ({"error": {"code", "message"}}).
func (s *Server) serveAzure(ex *exchange, path string) bool {
	if strings.HasPrefix(path, "/sim/") {
		return false
	}
	rest, ok := strings.CutPrefix(path, "/openai/deployments/")
	dep, op, _ := strings.Cut(rest, "/")
	if !ok || dep == "" || op != "chat/completions" {
		ex.writeAzureError(http.StatusNotFound, "404", "Resource not found")
		return true
	}
	s.chatArrived(ex)
	if !s.allowMethod(ex, http.MethodPost) || !s.authorized(ex) {
		return true
	}
	switch v := ex.r.URL.Query().Get("api-version"); {
	case v == "":
		ex.writeAzureError(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Missing the api-version query parameter: this resource serves api-version=%s.", s.cfg.AzureAPIVersion))
		return true
	case v != s.cfg.AzureAPIVersion:
		ex.writeAzureError(http.StatusBadRequest, "BadRequest", fmt.Sprintf("API version not supported: api-version=%s; this resource serves api-version=%s.", truncateParam(v), s.cfg.AzureAPIVersion))
		return true
	}
	if !s.models[dep] {
		ex.writeAzureError(http.StatusNotFound, "DeploymentNotFound", fmt.Sprintf("The API deployment %s for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.", truncateParam(dep)))
		return true
	}
	ex.deployment = dep
	s.handleChat(ex)
	return true
}

// authorizedAzure answers 401 unless the request carries its key in the
// api-key header (the configured one, when set). An Authorization: Bearer
// header alone is refused.
func (s *Server) authorizedAzure(ex *exchange) bool {
	key := ex.r.Header.Get("api-key")
	switch {
	case key == "" && ex.r.Header.Get("Authorization") != "":
		ex.writeAzureError(http.StatusUnauthorized, "401", "Access denied due to missing subscription key: this Azure resource takes its key in the api-key header, not in Authorization.")
	case key == "":
		ex.writeAzureError(http.StatusUnauthorized, "401", "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.")
	case s.cfg.APIKey != "" && subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.APIKey)) != 1:
		ex.writeAzureError(http.StatusUnauthorized, "401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.")
	default:
		return true
	}
	return false
}

// writeAzureError writes Azure OpenAI's error body.
func (ex *exchange) writeAzureError(status int, code, msg string) {
	ex.writeJSON(status, map[string]map[string]string{"error": {"code": code, "message": msg}})
}

// setAzureRetryAfter adds retry-after-ms, which Azure sends with
// Retry-After, to a 429.
func setAzureRetryAfter(h http.Header, seconds int) {
	h.Set("retry-after-ms", strconv.Itoa(seconds*1000))
}

// truncateParam cuts a value from the request for an error message.
func truncateParam(v string) string {
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return strconv.Quote(v)
}
