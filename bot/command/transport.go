package command

import (
	"errors"
	"io"
	"net/http"
)

// ReadCappedBody reads a request body of at most max bytes for a signed endpoint, which must hold the whole raw
// body to verify its signature. On failure it has already answered (413 for a body over max, 400 otherwise) and
// returns false.
func ReadCappedBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "cannot read request body", http.StatusBadRequest)
		return nil, false
	}
	return body, true
}
