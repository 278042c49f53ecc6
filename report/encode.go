package report

import (
	"encoding/json"
	"fmt"
	"io"
)

// EncodeJSON writes the document to w, indented, as WriteJSON writes files.
func EncodeJSON(w io.Writer, d Document) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the result: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write the result: %w", err)
	}
	return nil
}
