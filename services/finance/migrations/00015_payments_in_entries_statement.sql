-- +goose Up
-- Subscription and sponsorship payments join the shared transaction's one
-- entries statement (RecordEntries), as manual entries and reversals do.
-- Such a payment was computed from its deal as read before the write: the
-- statement moves the deal on only if the row is still the one read (its
-- xmin), and otherwise stops here, with nothing written, so that the
-- payment is made again under the deal's row lock.
-- +goose StatementBegin
CREATE FUNCTION ledger_deal_changed(deal uuid) RETURNS uuid LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: the deal % changed since its payment was prepared', deal USING ERRCODE = 'GHL02';
END $$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION ledger_deal_changed;
