package finance

import (
	"github.com/guildhall/guildhall/internal/idempotency"
	"github.com/guildhall/guildhall/internal/outbox"
)

// statementRows gathers what RecordDonations and RecordEntries share in
// writing a batch as one statement: each write is an item numbered from 1,
// and its idempotency key, postings and outbox rows are parallel arrays
// naming their item. A request id one caller sends twice in the batch is
// written once; the later write is left out of the statement and replays,
// as it would against an earlier batch.
type statementRows struct {
	seen map[[2]string]bool
	item map[int32]int // item → index of its write in the batch
	next int32

	KeyItems                     []int32
	Callers, RequestIds, Methods []string
	RequestHashes, Responses     [][]byte

	PostingItems, PostingSeqs          []int32
	PostingAccounts, PostingCurrencies []string
	PostingAmounts                     []int64

	OutboxItems    []int32
	OutboxTopics   []string
	OutboxPayloads [][]byte
}

func newStatementRows() *statementRows {
	return &statementRows{seen: map[[2]string]bool{}, item: map[int32]int{}}
}

// add numbers write i of the batch, with its key (when requestID is set),
// postings and outbox rows; ok is false if its request id is already in the
// statement, and then nothing is added.
func (r *statementRows) add(i int, requestID string, key idempotency.Key, lines []line, msgs []outbox.Message) (n int32, ok bool) {
	if requestID != "" {
		k := [2]string{key.Caller, requestID}
		if r.seen[k] {
			return 0, false
		}
		r.seen[k] = true
	}
	r.next++
	n = r.next
	r.item[n] = i
	if requestID != "" {
		r.KeyItems = append(r.KeyItems, n)
		r.Callers = append(r.Callers, key.Caller)
		r.RequestIds = append(r.RequestIds, key.RequestID)
		r.Methods = append(r.Methods, key.Method)
		r.RequestHashes = append(r.RequestHashes, key.RequestHash)
		r.Responses = append(r.Responses, key.Response)
	}
	for seq, l := range lines {
		r.PostingItems = append(r.PostingItems, n)
		r.PostingSeqs = append(r.PostingSeqs, int32(seq+1))
		r.PostingAccounts = append(r.PostingAccounts, l.account)
		r.PostingCurrencies = append(r.PostingCurrencies, l.currency)
		r.PostingAmounts = append(r.PostingAmounts, l.amount)
	}
	for _, m := range msgs {
		r.OutboxItems = append(r.OutboxItems, n)
		r.OutboxTopics = append(r.OutboxTopics, m.Topic)
		r.OutboxPayloads = append(r.OutboxPayloads, m.Payload)
	}
	return n, true
}

// written reports, per write of a batch of size, whether the statement
// wrote it, from the items it returned.
func (r *statementRows) written(items []int32, size int) []bool {
	out := make([]bool, size)
	for _, n := range items {
		out[r.item[n]] = true
	}
	return out
}
