package codec

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// FromEnv returns the codec configured by EnvKey and EnvOldKeys, or nil
// when EnvKey is not set. A key that does not parse is an error naming the
// variable (never its value).
func FromEnv(getenv func(string) string) (*Codec, error) {
	current, old := strings.TrimSpace(getenv(EnvKey)), strings.TrimSpace(getenv(EnvOldKeys))
	if current == "" {
		if old != "" {
			return nil, fmt.Errorf("%s is set but %s is not: the old keys only decrypt, set the current key too", EnvOldKeys, EnvKey)
		}
		return nil, nil
	}
	key, err := ParseKey(current)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvKey, err)
	}
	var olds [][]byte
	for i, s := range strings.Split(old, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		k, err := ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("%s, key %d: %w", EnvOldKeys, i+1, err)
		}
		olds = append(olds, k)
	}
	return New(key, olds...)
}

// Enabled reports whether payload encryption is configured (EnvKey is set).
// What Temporal keeps in clear by design, such as search attributes, should
// then not carry what the payloads hide.
func Enabled(getenv func(string) string) bool { return strings.TrimSpace(getenv(EnvKey)) != "" }

// Converters are the data and failure converters of a Temporal client.
type Converters struct {
	Data    converter.DataConverter
	Failure converter.FailureConverter
	// Codec is the encryption codec, nil when encryption is off.
	Codec *Codec
}

// ClientConverters returns the converters every client of the application
// uses, from the environment; the worker and the starter must agree.
//
// With EnvKey set, payloads are encrypted, and so are failure messages and
// stack traces (which can quote an endpoint's answer). Without it, payloads
// are the default converter's, as before, and an encrypted payload read from
// an earlier run is a *KeyError saying to set EnvKey.
//
// With EnvRequire set, a payload that is not encrypted is refused (a
// *KeyError), and EnvKey must be set.
func ClientConverters(getenv func(string) string) (Converters, error) {
	c, err := FromEnv(getenv)
	if err != nil {
		return Converters{}, err
	}
	require, err := requireFromEnv(getenv)
	if err != nil {
		return Converters{}, err
	}
	if require && c == nil {
		return Converters{}, fmt.Errorf("%s=1 refuses payloads that are not encrypted, but %s is not set: set the key", EnvRequire, EnvKey)
	}
	if c == nil {
		dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), noKey{})
		return Converters{
			Data:    dc,
			Failure: temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: dc}),
		}, nil
	}
	var pc converter.PayloadCodec = c
	if require {
		pc = requireEncrypted{c}
	}
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), pc)
	return Converters{
		Data:    dc,
		Failure: temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: true}),
		Codec:   c,
	}, nil
}
