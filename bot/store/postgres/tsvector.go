package postgres

import (
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgtype"
)

// OIDs of PostgreSQL's built-in tsvector types; built-in OIDs never change.
const (
	tsvectorOID      = 3614
	tsvectorArrayOID = 3643
)

// tsDocs is a tsvector[] parameter: pgx knows no tsvector, so the store registers tsDocsCodec on every
// connection (see registerTypes) and sends the array in the binary format, each element a tsDoc.
type tsDocs []tsDoc

// tsDocsCodec encodes tsDocs as a binary tsvector[]. It only encodes: the store never reads a tsvector back.
type tsDocsCodec struct{}

func (tsDocsCodec) FormatSupported(format int16) bool { return format == pgtype.BinaryFormatCode }
func (tsDocsCodec) PreferredFormat() int16            { return pgtype.BinaryFormatCode }

func (tsDocsCodec) PlanEncode(_ *pgtype.Map, _ uint32, format int16, value any) pgtype.EncodePlan {
	if _, ok := value.(tsDocs); ok && format == pgtype.BinaryFormatCode {
		return encodeTSDocs{}
	}
	return nil
}

func (tsDocsCodec) PlanScan(*pgtype.Map, uint32, int16, any) pgtype.ScanPlan { return nil }

func (tsDocsCodec) DecodeDatabaseSQLValue(*pgtype.Map, uint32, int16, []byte) (driver.Value, error) {
	return nil, errors.New("decoding tsvector[] is not supported")
}

func (tsDocsCodec) DecodeValue(*pgtype.Map, uint32, int16, []byte) (any, error) {
	return nil, errors.New("decoding tsvector[] is not supported")
}

type encodeTSDocs struct{}

// Encode writes the binary array format (array_send): dimensions, a no-NULLs flag, the element type, the
// length and lower bound of the one dimension, then each element with its length.
func (encodeTSDocs) Encode(value any, buf []byte) ([]byte, error) {
	docs := value.(tsDocs)
	buf = binary.BigEndian.AppendUint32(buf, 1) // dimensions
	buf = binary.BigEndian.AppendUint32(buf, 0) // no NULLs
	buf = binary.BigEndian.AppendUint32(buf, tsvectorOID)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(docs)))
	buf = binary.BigEndian.AppendUint32(buf, 1) // lower bound
	for i, d := range docs {
		if len(d) < 4 {
			return nil, fmt.Errorf("tsvector %d: %d bytes is not a document", i, len(d))
		}
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(d)))
		buf = append(buf, d...)
	}
	return buf, nil
}

// registerTypes teaches a connection's type map the tsvector[] parameters of ingest.
func registerTypes(m *pgtype.Map) {
	m.RegisterType(&pgtype.Type{Name: "_tsvector", OID: tsvectorArrayOID, Codec: tsDocsCodec{}})
}
