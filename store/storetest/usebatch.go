package storetest

import (
	"context"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// BusyCalls is how many calls BenchRecordKeyUses puts in a batch: a
// second of the make bench load.
const BusyCalls = 15_000

// BenchRecordKeyUses benchmarks one batch of recent use as a busy instance
// writes it each second: BusyCalls calls over 1,000 keys, a fifth of the
// keys also setting Last Used. ns/use is a call's share of the write.
func BenchRecordKeyUses(b *testing.B, db *sqlstore.DB) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	SeedInventory(b, db, 100, 1_000, now)
	_, read := db.Pools()
	rows, err := read.Query(`SELECT id FROM api_keys`)
	if err != nil {
		b.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	batch := store.NewUseBatch(10_000)
	for i := range BusyCalls {
		batch.Add(store.KeyUse{KeyID: ids[i%len(ids)], At: now.Add(time.Duration(i) * time.Microsecond), ClientIP: "203.0.113.7",
			UserAgent: "bench/1.0", Route: "GET /api/v1/me", Result: store.UseOK, SetsLastUsed: i < len(ids)/5})
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := db.RecordKeyUses(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*BusyCalls), "ns/use")
}
