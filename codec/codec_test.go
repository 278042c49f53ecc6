package codec

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func newCodec(t *testing.T, current []byte, old ...[]byte) *Codec {
	t.Helper()
	c, err := New(current, old...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type secret struct {
	Prompt string `json:"prompt"`
	Model  string `json:"model"`
}

var sample = secret{Prompt: "Explain quantum tunnelling to a cat", Model: "gpt-4.1-nano"}

func TestRoundTripThroughTheDataConverter(t *testing.T) {
	c := newCodec(t, newKey(t))
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
	ps, err := dc.ToPayloads(sample, 42)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps.GetPayloads() {
		if got := string(p.GetMetadata()[converter.MetadataEncoding]); got != EncodingEncrypted {
			t.Errorf("payload %d: encoding %q, want %q", i, got, EncodingEncrypted)
		}
		if got := string(p.GetMetadata()[MetadataKeyID]); got != c.KeyIDs()[0] {
			t.Errorf("payload %d: key ID %q, want %q", i, got, c.KeyIDs()[0])
		}
		for _, clear := range []string{sample.Prompt, sample.Model, "json/plain"} {
			if bytes.Contains(p.GetData(), []byte(clear)) {
				t.Errorf("payload %d holds %q in clear", i, clear)
			}
		}
	}
	var got secret
	var n int
	if err := dc.FromPayloads(ps, &got, &n); err != nil {
		t.Fatal(err)
	}
	if got != sample || n != 42 {
		t.Errorf("round trip gave %+v, %d; want %+v, 42", got, n, sample)
	}
}

func TestEncryptionIsRandomized(t *testing.T) {
	c := newCodec(t, newKey(t))
	p, _ := converter.GetDefaultDataConverter().ToPayload(sample)
	a, _ := c.Encode([]*commonpb.Payload{p})
	b, _ := c.Encode([]*commonpb.Payload{p})
	if bytes.Equal(a[0].GetData(), b[0].GetData()) {
		t.Error("the same payload encrypted twice gave the same ciphertext: the nonce is not fresh")
	}
}

func TestTamperingIsDetected(t *testing.T) {
	key := newKey(t)
	c := newCodec(t, key)
	p, _ := converter.GetDefaultDataConverter().ToPayload(sample)
	enc, err := c.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	data := enc[0].GetData()
	for _, tc := range []struct {
		name string
		mod  func() *commonpb.Payload
		want string
	}{
		{"a flipped ciphertext bit", func() *commonpb.Payload {
			d := bytes.Clone(data)
			d[len(d)/2] ^= 1
			return &commonpb.Payload{Metadata: enc[0].GetMetadata(), Data: d}
		}, "fails authentication"},
		{"a flipped nonce bit", func() *commonpb.Payload {
			d := bytes.Clone(data)
			d[0] ^= 0x80
			return &commonpb.Payload{Metadata: enc[0].GetMetadata(), Data: d}
		}, "fails authentication"},
		{"a truncated ciphertext", func() *commonpb.Payload {
			return &commonpb.Payload{Metadata: enc[0].GetMetadata(), Data: data[:10]}
		}, "truncated"},
	} {
		_, err := c.Decode([]*commonpb.Payload{tc.mod()})
		ke, ok := IsKeyError(err)
		if !ok || !strings.Contains(ke.Error(), tc.want) {
			t.Errorf("%s: error %v, want a KeyError saying %q", tc.name, err, tc.want)
		}
	}
	// The key ID is authenticated too: relabelling a payload with another
	// key's ID (of a key the reader holds) fails.
	other := newKey(t)
	both := newCodec(t, other, key)
	meta := map[string][]byte{}
	for k, v := range enc[0].GetMetadata() {
		meta[k] = v
	}
	meta[MetadataKeyID] = []byte(KeyID(other))
	if _, err := both.Decode([]*commonpb.Payload{{Metadata: meta, Data: data}}); err == nil {
		t.Error("a payload relabelled with another key's ID decrypted")
	}
	// And the untouched payload still decrypts.
	if _, err := c.Decode(enc); err != nil {
		t.Errorf("the untouched payload: %v", err)
	}
}

func TestWrongKeyFailsClearly(t *testing.T) {
	writer := newCodec(t, newKey(t))
	reader := newCodec(t, newKey(t))
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), reader)
	p, err := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), writer).ToPayload(sample)
	if err != nil {
		t.Fatal(err)
	}
	var got secret
	err = dc.FromPayload(p, &got)
	ke, ok := IsKeyError(err)
	if !ok {
		t.Fatalf("decoding with another key: %v, want a KeyError", err)
	}
	for _, want := range []string{writer.KeyIDs()[0], reader.KeyIDs()[0], EnvKey, EnvOldKeys} {
		if !strings.Contains(ke.Error(), want) {
			t.Errorf("error %q does not name %q", ke, want)
		}
	}
	// The SDK retries the workflow task rather than failing the run.
	var wtf *converter.WorkflowTaskFailureError
	if !errors.As(err, &wtf) {
		t.Errorf("error %v does not ask for a workflow task failure", err)
	}
}

func TestNoKeyNamesTheVariable(t *testing.T) {
	writer := newCodec(t, newKey(t))
	p, _ := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), writer).ToPayload(sample)
	conv, err := ClientConverters(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	var got secret
	err = conv.Data.FromPayload(p, &got)
	ke, ok := IsKeyError(err)
	if !ok || !strings.Contains(ke.Error(), "encrypted") || !strings.Contains(ke.Error(), EnvKey) || strings.Contains(ke.Error(), "\n") {
		t.Fatalf("reading an encrypted payload without a key: %v; want one line naming %s", err, EnvKey)
	}
	// Without a key, plain payloads are written and read as before.
	plain, err := conv.Data.ToPayload(sample)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := converter.GetDefaultDataConverter().ToPayload(sample)
	if string(plain.GetMetadata()[converter.MetadataEncoding]) != "json/plain" || !bytes.Equal(plain.GetData(), want.GetData()) {
		t.Errorf("without a key the payload is %v, want the default converter's %v", plain, want)
	}
}

func TestUnencryptedPayloadsPassThroughDecode(t *testing.T) {
	c := newCodec(t, newKey(t))
	plain, _ := converter.GetDefaultDataConverter().ToPayloads(sample, "text", []byte{1, 2})
	dec, err := c.Decode(plain.GetPayloads())
	if err != nil {
		t.Fatal(err)
	}
	for i := range dec {
		if dec[i] != plain.GetPayloads()[i] {
			t.Errorf("payload %d changed on decode", i)
		}
	}
	// A run from before encryption reads through the encrypting converter.
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
	var got secret
	if err := dc.FromPayload(plain.GetPayloads()[0], &got); err != nil || got != sample {
		t.Errorf("plain payload through the codec: %+v, %v", got, err)
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKeyBytes := newKey(t), newKey(t)
	before := newCodec(t, oldKey)
	after := newCodec(t, newKeyBytes, oldKey)
	old, _ := before.Encode([]*commonpb.Payload{{Data: []byte("old")}})
	dec, err := after.Decode(old)
	if err != nil || string(dec[0].GetData()) != "old" {
		t.Fatalf("the old key's payload with the new codec: %v, %v", dec, err)
	}
	fresh, _ := after.Encode([]*commonpb.Payload{{Data: []byte("new")}})
	if got := string(fresh[0].GetMetadata()[MetadataKeyID]); got != KeyID(newKeyBytes) {
		t.Errorf("new payloads use key ID %s, want the current key's %s", got, KeyID(newKeyBytes))
	}
	if _, err := before.Decode(fresh); err == nil {
		t.Error("the old codec decrypted a payload of the new key")
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestKeyFormats(t *testing.T) {
	k := newKey(t)
	for name, s := range map[string]string{
		"base64":         base64.StdEncoding.EncodeToString(k),
		"base64 raw":     base64.RawStdEncoding.EncodeToString(k),
		"base64 url":     base64.URLEncoding.EncodeToString(k),
		"hex":            hex.EncodeToString(k),
		"hex upper":      strings.ToUpper(hex.EncodeToString(k)),
		"with a newline": base64.StdEncoding.EncodeToString(k) + "\n",
	} {
		got, err := ParseKey(s)
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestBadKeyIsOneClearLine(t *testing.T) {
	secretish := "c2hvcnQta2V5"                                           // base64 of "short-key"
	long := base64.StdEncoding.EncodeToString(make([]byte, 40))           // 40 bytes
	notKey := "this is not a key at all, it has spaces in it & symbols!!" // neither
	for name, e := range map[string]map[string]string{
		"too short":         {EnvKey: secretish},
		"too long":          {EnvKey: long},
		"not base64 or hex": {EnvKey: notKey},
		"bad old key":       {EnvKey: base64.StdEncoding.EncodeToString(newKey(t)), EnvOldKeys: secretish},
		"old key alone":     {EnvOldKeys: base64.StdEncoding.EncodeToString(newKey(t))},
	} {
		_, err := ClientConverters(env(e))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") {
			t.Errorf("%s: error spans lines: %q", name, msg)
		}
		if !strings.Contains(msg, "LLMCONC_CODEC_") {
			t.Errorf("%s: error %q does not name the variable", name, msg)
		}
		if name != "old key alone" && !strings.Contains(msg, "openssl rand -base64 32") {
			t.Errorf("%s: error %q does not say how to make a key", name, msg)
		}
		for _, v := range e {
			if strings.Contains(msg, v) {
				t.Errorf("%s: error %q quotes the key", name, msg)
			}
		}
	}
	for s, want := range map[string]string{
		hex.EncodeToString(make([]byte, 16)):                "16 bytes of hex",
		base64.StdEncoding.EncodeToString(make([]byte, 16)): "16 bytes of base64",
	} {
		if _, err := ParseKey(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseKey of a 16-byte key: %v, want it to say %q", err, want)
		}
	}
	if _, err := New(make([]byte, 16)); err == nil {
		t.Error("New accepted a 16-byte key")
	}
}

func TestClientConvertersWithKey(t *testing.T) {
	k := newKey(t)
	conv, err := ClientConverters(env(map[string]string{EnvKey: base64.StdEncoding.EncodeToString(k)}))
	if err != nil {
		t.Fatal(err)
	}
	if conv.Codec == nil || conv.Codec.KeyIDs()[0] != KeyID(k) {
		t.Fatalf("codec %v, want one with key ID %s", conv.Codec, KeyID(k))
	}
	// Failure messages are encrypted as well.
	f := conv.Failure.ErrorToFailure(errors.New("model gpt-4.1-nano answered: " + sample.Prompt))
	if strings.Contains(f.GetMessage(), sample.Prompt) || f.GetEncodedAttributes() == nil || !IsEncrypted(f.GetEncodedAttributes()) {
		t.Errorf("failure message %q, encoded attributes %v: want the message encrypted", f.GetMessage(), f.GetEncodedAttributes())
	}
	if back := conv.Failure.FailureToError(f); !strings.Contains(back.Error(), sample.Prompt) {
		t.Errorf("failure decoded to %q, want the original message", back)
	}
}

func TestEnabled(t *testing.T) {
	if Enabled(env(nil)) || Enabled(env(map[string]string{EnvKey: "  "})) {
		t.Error("Enabled without a key")
	}
	if !Enabled(env(map[string]string{EnvKey: base64.StdEncoding.EncodeToString(newKey(t))})) {
		t.Error("not Enabled with a key")
	}
}
