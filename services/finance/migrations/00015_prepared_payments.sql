-- +goose Up
-- Subscription, sponsorship and expense payments join the shared
-- transaction's one entries statement (RecordEntries), as manual entries and
-- reversals do, and the rows they pay are moved on by one statement per
-- kind after it (RecordSubscriptionPayments, RecordSponsorshipPayments,
-- RecordExpensePayments). Such a payment was computed from the row it pays
-- as read before the write: its statement moves that row on only if it is
-- still the one read (its xmin), and otherwise stops here, so that the
-- transaction is undone and the payment made again under the row's lock.
-- +goose StatementBegin
CREATE FUNCTION ledger_changed_since_read(paid uuid) RETURNS uuid LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % changed since its payment was prepared', paid USING ERRCODE = 'GHL02';
END $$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION ledger_changed_since_read;
