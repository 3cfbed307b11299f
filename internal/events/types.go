package events

import "slices"

// Event types, CloudEvents `type` values: dev.guildhall.<service>.<resource>.<what>.v<n>.
// A type's meaning and data never change within a version; data holds the
// subject's resource name (`name`) and the fields named beside each type.
const (
	// Membership.

	// PersonCreated: a person was added. Data: name, displayName.
	PersonCreated = "dev.guildhall.membership.person.created.v1"
	// PersonUpdated: a person's profile changed. Data: name, the mask's fields.
	PersonUpdated = "dev.guildhall.membership.person.updated.v1"
	// TeamCreated: a team was added. Data: name, displayName.
	TeamCreated = "dev.guildhall.membership.team.created.v1"
	// TeamUpdated: a team's charter, leads or permissions changed. Data: name.
	TeamUpdated = "dev.guildhall.membership.team.updated.v1"
	// TeamDeleted: a team was removed. Data: name.
	TeamDeleted = "dev.guildhall.membership.team.deleted.v1"
	// TeamMemberAdded: a person joined a team, or their role changed. Data: name, person, role.
	TeamMemberAdded = "dev.guildhall.membership.team.member_added.v1"
	// TeamMemberRemoved: a person left a team. Data: name, person.
	TeamMemberRemoved = "dev.guildhall.membership.team.member_removed.v1"
	// PositionOpened: a position was opened. Data: name, title.
	PositionOpened = "dev.guildhall.membership.position.opened.v1"
	// PositionFilled: a position was filled. Data: name, filledBy.
	PositionFilled = "dev.guildhall.membership.position.filled.v1"
	// PositionClosed: a position was closed unfilled or removed. Data: name.
	PositionClosed = "dev.guildhall.membership.position.closed.v1"
	// VolunteerOffered: someone offered help. Seen by coordinators, leads and
	// the person offering, if signed in. Data: name, state.
	VolunteerOffered = "dev.guildhall.membership.volunteer.offered.v1"
	// VolunteerMatched: an offer was matched to a position. Data: name, position.
	VolunteerMatched = "dev.guildhall.membership.volunteer.matched.v1"
	// VolunteerOnboarded: a matched volunteer started onboarding. Data: name, position.
	VolunteerOnboarded = "dev.guildhall.membership.volunteer.onboarded.v1"
	// VolunteerActivated: an onboarded volunteer became active. Data: name, person.
	VolunteerActivated = "dev.guildhall.membership.volunteer.activated.v1"
	// VolunteerDeclined: an offer was declined. Data: name.
	VolunteerDeclined = "dev.guildhall.membership.volunteer.declined.v1"
	// DriftStageReached: drift detection recorded a stage (a person nudged,
	// made inactive or emeritus, or active again; a team at risk, leaderless
	// or empty), once. Seen by the person and the leads of the teams
	// concerned. Data: person, team, stage, time, reason.
	DriftStageReached = "dev.guildhall.membership.drift.stage_reached.v1"
	// PackageStateChanged: a package's state changed. Data: name, previousState, state.
	// Declared, not emitted yet: package transitions do not run the lifecycle hook.
	PackageStateChanged = "dev.guildhall.membership.package.state_changed.v1"

	// Roadmap.

	// ReleaseCreated: a release was added. Data: name, state.
	ReleaseCreated = "dev.guildhall.roadmap.release.created.v1"
	// ReleaseStateChanged: a release moved through its lifecycle. Data: name, previousState, state.
	ReleaseStateChanged = "dev.guildhall.roadmap.release.state_changed.v1"
	// ItemCreated: a roadmap item was added. Data: name, state, ownerTeam.
	ItemCreated = "dev.guildhall.roadmap.item.created.v1"
	// ItemStateChanged: an item's state changed. Data: name, state, ownerTeam.
	ItemStateChanged = "dev.guildhall.roadmap.item.state_changed.v1"
	// ItemStatusUpdated: an item got a status update. Data: name (the update), item.
	ItemStatusUpdated = "dev.guildhall.roadmap.item.status_updated.v1"
	// ItemStale: an IN_PROGRESS item went without a status update too long. Data: name, ownerTeam, ownerPeople.
	ItemStale = "dev.guildhall.roadmap.item.stale.v1"
	// ProposalOpened: a proposal opened for votes. Data: name, previousState, state.
	ProposalOpened = "dev.guildhall.roadmap.proposal.opened.v1"
	// ProposalClosingSoon: voting on an OPEN proposal closes within 24 hours;
	// announced once per proposal by the roadmap.proposals job. Data: name,
	// question, eligibleTeam, closeTime, state.
	ProposalClosingSoon = "dev.guildhall.roadmap.proposal.closing_soon.v1"
	// ProposalClosed: a proposal was closed and its result frozen (read the
	// proposal for the tally), once: by CloseProposal, or when its close time
	// has passed, by the first reader, late voter or roadmap.proposals pass
	// that finds it so. Data: name, previousState, state.
	ProposalClosed = "dev.guildhall.roadmap.proposal.closed.v1"

	// Finance.

	// DonationCreated: a donation was recorded. Data: name, and amount and
	// donor as the donation's visibility lets the audience see them; a
	// PRIVATE gift's event is seen only by the books (finance.read_private,
	// finance.record) and the donor.
	DonationCreated = "dev.guildhall.finance.donation.created.v1"
	// DonationReversed: a donation was refunded: its entry was reversed
	// (which the books also see as TransactionReversed). Seen as its
	// DonationCreated is: data name, visibility, state, goal and amount,
	// with the donor of a PUBLIC gift; a PRIVATE gift's event is seen only
	// by the books and the donor, and carries neither donor nor amount
	// (data: name, visibility, state).
	DonationReversed = "dev.guildhall.finance.donation.reversed.v1"
	// TransactionCreated: a manual journal entry was posted. Data: name.
	TransactionCreated = "dev.guildhall.finance.transaction.created.v1"
	// TransactionReversed: an entry was reversed. Data: name, reversedBy.
	TransactionReversed = "dev.guildhall.finance.transaction.reversed.v1"
	// ExpenseSubmitted: an expense awaits approval. Seen by the books,
	// approvers, payers and the submitter. Data: name, state, submitter,
	// payee, amount, description.
	ExpenseSubmitted = "dev.guildhall.finance.expense.submitted.v1"
	// ExpenseApproved: an expense was approved (fully). Data: name, state.
	ExpenseApproved = "dev.guildhall.finance.expense.approved.v1"
	// ExpenseRejected: an expense was rejected. Data: name.
	ExpenseRejected = "dev.guildhall.finance.expense.rejected.v1"
	// ExpenseCancelled: an expense was cancelled. Data: name.
	ExpenseCancelled = "dev.guildhall.finance.expense.cancelled.v1"
	// ExpensePaid: an expense was paid. Data: name, transaction.
	ExpensePaid = "dev.guildhall.finance.expense.paid.v1"
	// SubscriptionCreated: a subscription started. Data: name.
	SubscriptionCreated = "dev.guildhall.finance.subscription.created.v1"
	// SubscriptionStateChanged: a subscription was paused, resumed or cancelled. Data: name, previousState, state.
	SubscriptionStateChanged = "dev.guildhall.finance.subscription.state_changed.v1"
	// SubscriptionPaymentRecorded: a subscription payment was recorded. Data: name, transaction.
	SubscriptionPaymentRecorded = "dev.guildhall.finance.subscription.payment_recorded.v1"
	// SponsorshipCreated: a sponsorship started. Data: name, sponsor.
	SponsorshipCreated = "dev.guildhall.finance.sponsorship.created.v1"
	// SponsorshipStateChanged: a sponsorship ended or changed state. Data: name, previousState, state.
	SponsorshipStateChanged = "dev.guildhall.finance.sponsorship.state_changed.v1"
	// SponsorshipPaymentRecorded: a sponsorship payment was recorded. Data: name, transaction.
	SponsorshipPaymentRecorded = "dev.guildhall.finance.sponsorship.payment_recorded.v1"
	// GoalReached: a goal's progress, as the public sees it, reached its
	// target; announced once per goal and period (all time for a one-off
	// goal) by the finance.goals job. Public progress leaves out PRIVATE
	// gifts until their month ends, so the event never tells of one. Data:
	// name, displayName, target, period.
	GoalReached = "dev.guildhall.finance.goal.reached.v1"

	// Events.

	// WebhookDisabled: a webhook was deactivated after a run of failed
	// deliveries. Seen by admins and holders of webhooks.manage. Data: name, disableReason.
	WebhookDisabled = "dev.guildhall.events.webhook.disabled.v1"
)

var types = []string{
	PersonCreated, PersonUpdated, TeamCreated, TeamUpdated, TeamDeleted,
	TeamMemberAdded, TeamMemberRemoved, PositionOpened, PositionFilled, PositionClosed,
	VolunteerOffered, VolunteerMatched, VolunteerOnboarded, VolunteerActivated, VolunteerDeclined,
	DriftStageReached, PackageStateChanged,
	ReleaseCreated, ReleaseStateChanged, ItemCreated, ItemStateChanged, ItemStatusUpdated, ItemStale,
	ProposalOpened, ProposalClosingSoon, ProposalClosed,
	DonationCreated, DonationReversed, TransactionCreated, TransactionReversed,
	ExpenseSubmitted, ExpenseApproved, ExpenseRejected, ExpenseCancelled, ExpensePaid,
	SubscriptionCreated, SubscriptionStateChanged, SubscriptionPaymentRecorded,
	SponsorshipCreated, SponsorshipStateChanged, SponsorshipPaymentRecorded, GoalReached,
	WebhookDisabled,
}

// Types lists every declared event type.
func Types() []string { return slices.Clone(types) }

// Known reports whether t is a declared event type.
func Known(t string) bool { return slices.Contains(types, t) }
