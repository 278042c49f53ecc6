package workerhost

import (
	"fmt"
	"regexp"

	openai "github.com/sashabaranov/go-openai"
)

// Kinds of endpoint (EndpointSpec.Kind).
const (
	KindOpenAI = "openai"
	// KindAzure is Azure OpenAI: base_url is the resource URL (such as
	// https://NAME.openai.azure.com), requests go to
	// /openai/deployments/{model}/chat/completions?api-version=V with the
	// key in the api-key header, and a run's -model is the deployment name.
	KindAzure = "azure"
)

// azureAPIVersion is the form of an Azure OpenAI api-version: a date,
// optionally with -preview.
var azureAPIVersion = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-preview)?$`)

// checkKind returns what is wrong with an endpoint's kind and api_version,
// or "".
func checkKind(ep Endpoint) string {
	switch ep.Kind {
	case "":
		if ep.APIVersion != "" {
			return "api_version is only for \"kind\": \"azure\""
		}
	case KindAzure:
		switch {
		case ep.APIVersion == "":
			return "an azure endpoint needs its api_version, such as \"2024-10-21\""
		case !azureAPIVersion.MatchString(ep.APIVersion):
			return fmt.Sprintf("api_version %q is not an Azure OpenAI api-version such as \"2024-10-21\" or \"2025-04-01-preview\"", truncateName(ep.APIVersion))
		}
	default:
		return fmt.Sprintf("unknown kind %q: use \"openai\" (the default) or \"azure\"", truncateName(ep.Kind))
	}
	return ""
}

// azureConfig is go-openai's Azure configuration for ep: its resource URL,
// api-version and key (sent in the api-key header). The run's model is the
// deployment name, as is: go-openai's default mapping would drop the dots
// of a "3.5" name.
func azureConfig(ep Endpoint) openai.ClientConfig {
	oc := openai.DefaultAzureConfig(ep.APIKey, SafeURL(ep.BaseURL))
	oc.APIVersion = ep.APIVersion
	oc.AzureModelMapperFunc = func(model string) string { return model }
	return oc
}
