// Package codec encrypts Temporal payloads with AES-256-GCM, so that the
// prompts, responses, model name and endpoint of a run are stored in
// Temporal's history as ciphertext that only holders of the key can read.
//
// A Codec is a converter.PayloadCodec: the worker and the starter wrap the
// SDK's default data converter with it (see ClientConverters), and the codec
// server (Handler) lets the Temporal UI and CLI decode payloads for whoever
// runs it. Every encrypted payload carries the ID of its key in its metadata,
// so a key can be rotated: decoding also accepts the old keys.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

const (
	// EnvKey holds the key that encrypts new payloads (and decrypts them):
	// 32 bytes in base64 or hex, e.g. from `openssl rand -base64 32`.
	EnvKey = "LLMCONC_CODEC_KEY"
	// EnvOldKeys holds earlier keys, comma-separated, that still decrypt the
	// payloads written with them but encrypt nothing.
	EnvOldKeys = "LLMCONC_CODEC_OLD_KEYS"

	// EncodingEncrypted is the metadata encoding of an encrypted payload.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID names the metadata entry with the ID of the payload's key.
	MetadataKeyID = "encryption-key-id"
	// MetadataCipher names the metadata entry with the cipher's name.
	MetadataCipher = "encryption-cipher"
	// Cipher is the value of MetadataCipher.
	Cipher = "AES256-GCM"

	// KeySize is the size of a key in bytes (AES-256).
	KeySize = 32
)

// KeyError is a payload that cannot be decrypted here: no key is configured,
// its key is not one of ours, or its ciphertext fails authentication. The
// message says which, and what to set.
type KeyError struct{ msg string }

func (e *KeyError) Error() string { return e.msg }

// Codec encrypts payloads with its current key and decrypts those of any of
// its keys. It is safe for concurrent use.
type Codec struct {
	current string                 // ID of the key that encrypts
	keys    map[string]cipher.AEAD // by key ID
}

// New returns a codec that encrypts with current and decrypts with current
// and old. Each key must be KeySize bytes.
func New(current []byte, old ...[]byte) (*Codec, error) {
	c := &Codec{keys: map[string]cipher.AEAD{}}
	for i, k := range append([][]byte{current}, old...) {
		if len(k) != KeySize {
			return nil, fmt.Errorf("an AES-256 key is %d bytes, got %d", KeySize, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("AES key: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("AES-GCM: %w", err)
		}
		id := KeyID(k)
		if i == 0 {
			c.current = id
		}
		c.keys[id] = aead
	}
	return c, nil
}

// KeyID identifies a key without revealing it: the first 8 bytes of its
// SHA-256, in hex. A key of 256 random bits cannot be recovered from it.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// KeyIDs returns the ID of the current key, then those of the old keys.
func (c *Codec) KeyIDs() []string {
	ids := []string{c.current}
	for id := range c.keys {
		if id != c.current {
			ids = append(ids, id)
		}
	}
	return ids
}

// ParseKey decodes a key given as 64 hex digits or as base64 (standard or
// URL alphabet, padded or not) of KeySize bytes. The error never quotes s.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) == KeySize {
				return k, nil
			}
			// Say how long it is in the encoding it was most likely meant in.
			if h, err := hex.DecodeString(s); err == nil {
				return nil, fmt.Errorf("the key is %d bytes of hex, want %d (generate one with `openssl rand -base64 32`)", len(h), KeySize)
			}
			return nil, fmt.Errorf("the key is %d bytes of base64, want %d (generate one with `openssl rand -base64 32`)", len(k), KeySize)
		}
	}
	return nil, fmt.Errorf("the key is neither base64 nor hex of %d bytes (generate one with `openssl rand -base64 32`)", KeySize)
}

// Encode encrypts each payload whole (data and metadata), so that not even
// its encoding shows.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.keys[c.current]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encrypt a payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("encrypt a payload: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(c.current),
				MetadataCipher:             []byte(Cipher),
			},
			// The key ID is authenticated with the data.
			Data: aead.Seal(nonce, nonce, plain, []byte(c.current)),
		}
	}
	return out, nil
}

// Decode decrypts the encrypted payloads and passes the others through
// unchanged (runs from before encryption was turned on stay readable).
//
// A payload it cannot decrypt is a *KeyError, wrapped in a
// converter.WorkflowTaskFailureError: a worker with a missing or wrong key
// fails its workflow tasks, which Temporal retries, rather than the run,
// which then goes on once the worker has the right key.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if !IsEncrypted(p) {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.keys[id]
		if !ok {
			return nil, keyError("a payload is encrypted with key ID %q, which is not the key ID of %s (%s) nor of any key in %s: set the key the worker used",
				id, EnvKey, c.current, EnvOldKeys)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize()+aead.Overhead() {
			return nil, keyError("a payload encrypted with key ID %q is truncated: it was modified after encryption", id)
		}
		nonce, sealed := data[:aead.NonceSize()], data[aead.NonceSize():]
		plain, err := aead.Open(nil, nonce, sealed, []byte(id))
		if err != nil {
			return nil, keyError("a payload encrypted with key ID %q fails authentication: it was modified after encryption", id)
		}
		var dec commonpb.Payload
		if err := proto.Unmarshal(plain, &dec); err != nil {
			return nil, fmt.Errorf("decrypted payload with key ID %q is not a payload: %w", id, err)
		}
		out[i] = &dec
	}
	return out, nil
}

// IsEncrypted reports whether p is a payload encrypted by a Codec.
func IsEncrypted(p *commonpb.Payload) bool {
	return string(p.GetMetadata()[converter.MetadataEncoding]) == EncodingEncrypted
}

func keyError(format string, args ...any) error {
	return converter.NewWorkflowTaskFailureError(&KeyError{fmt.Sprintf(format, args...)})
}

// noKey is the codec of a process without a key: it encodes nothing and
// turns an encrypted payload into one clear error instead of the default
// converter's "payload encoding is not supported".
type noKey struct{}

func (noKey) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) { return payloads, nil }

func (noKey) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	for _, p := range payloads {
		if IsEncrypted(p) {
			return nil, keyError("payloads are encrypted (key ID %q): set %s to the key the worker uses",
				string(p.GetMetadata()[MetadataKeyID]), EnvKey)
		}
	}
	return payloads, nil
}

// IsKeyError reports whether err, at any depth, is a payload that could not
// be decrypted, and returns it.
func IsKeyError(err error) (*KeyError, bool) {
	var ke *KeyError
	ok := errors.As(err, &ke)
	return ke, ok
}
