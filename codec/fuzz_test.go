package codec

import (
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

// FuzzDecode: whatever a payload holds (a tampered ciphertext, a foreign
// key ID, bytes that decrypt to no payload), Decode returns an error or
// payloads, never panics; and an encrypted payload with its ciphertext
// changed never decodes.
func FuzzDecode(f *testing.F) {
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = byte(i)
	}
	c, err := New(key)
	if err != nil {
		f.Fatal(err)
	}
	good, err := c.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{converter.MetadataEncoding: []byte("json/plain")}, Data: []byte(`"hello"`)}})
	if err != nil {
		f.Fatal(err)
	}
	id := KeyID(key)
	f.Add(good[0].Data, id, EncodingEncrypted)
	f.Add([]byte{}, id, EncodingEncrypted)
	f.Add([]byte("short"), "nope", EncodingEncrypted)
	f.Add([]byte(`"plain"`), "", "json/plain")
	f.Fuzz(func(t *testing.T, data []byte, keyID, encoding string) {
		p := &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(encoding), MetadataKeyID: []byte(keyID)}, Data: data}
		out, err := c.Decode([]*commonpb.Payload{p})
		if err == nil && len(out) != 1 {
			t.Fatalf("%d payloads out of one", len(out))
		}
		if _, err := (requireEncrypted{c}).Decode([]*commonpb.Payload{p}); err == nil && !IsEncrypted(p) {
			t.Fatalf("a plaintext payload passed the require mode")
		}
		if _, err := (noKey{}).Decode([]*commonpb.Payload{p}); err == nil && IsEncrypted(p) {
			t.Fatalf("an encrypted payload passed without a key")
		}
		// The only payload ever encrypted with this key is "hello": any
		// other ciphertext that decodes was forged.
		if IsEncrypted(p) && err == nil && string(out[0].GetData()) != `"hello"` {
			t.Fatalf("a changed ciphertext decoded to %q", out[0].GetData())
		}
	})
}
