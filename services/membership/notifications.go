package membership

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/membership/store"
)

// notificationSettingsFields are what UpdateNotificationSettings may change.
var notificationSettingsFields = []string{"muted_kinds"}

const settingsSuffix = "/notificationSettings"

// settingsPerson returns the person id of `people/{person}/notificationSettings`.
func settingsPerson(name string) string {
	return resource.ID(people, strings.TrimSuffix(name, settingsSuffix))
}

func settingsFromRow(personID string, muted []string, updated *time.Time, version int64) *membershipv1.NotificationSettings {
	out := &membershipv1.NotificationSettings{
		Name:       resource.Name(people, personID) + settingsSuffix,
		MutedKinds: kindsFromText(muted),
		Etag:       resource.Etag(version),
	}
	if updated != nil {
		out.UpdateTime = timestamppb.New(*updated)
	}
	return out
}

func kindsFromText(muted []string) []membershipv1.NotificationKind {
	out := make([]membershipv1.NotificationKind, 0, len(muted))
	for _, k := range muted {
		if n := membershipv1.NotificationKind(pgenum.Number(membershipv1.NotificationKind(0).Descriptor(), k)); n != 0 {
			out = append(out, n)
		}
	}
	return out
}

func kindsToText(kinds []membershipv1.NotificationKind) []string {
	out := make([]string, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, pgenum.Text(k))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// GetNotificationSettings implements AIP-131 for the singleton.
func (s *Server) GetNotificationSettings(ctx context.Context, req *membershipv1.GetNotificationSettingsRequest) (*membershipv1.NotificationSettings, error) {
	row, err := s.q.GetNotificationSettings(ctx, s.db, settingsPerson(req.GetName()))
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	return settingsFromRow(row.PersonID, row.MutedKinds, row.UpdateTime, row.Version), nil
}

// UpdateNotificationSettings implements AIP-134 for the singleton.
func (s *Server) UpdateNotificationSettings(ctx context.Context, req *membershipv1.UpdateNotificationSettingsRequest) (*membershipv1.NotificationSettings, error) {
	patch := req.GetNotificationSettings()
	id := settingsPerson(patch.GetName())
	return resource.Update(ctx, s.db, patch, req.GetUpdateMask(), notificationSettingsFields,
		func(tx pgx.Tx) (*membershipv1.NotificationSettings, error) {
			if _, err := s.q.LockPersonForSettings(ctx, tx, id); err != nil {
				return nil, err
			}
			row, err := s.q.GetNotificationSettings(ctx, tx, id)
			return settingsFromRow(row.PersonID, row.MutedKinds, row.UpdateTime, row.Version), err
		},
		func(*membershipv1.NotificationSettings) error { return nil },
		func(tx pgx.Tx, n *membershipv1.NotificationSettings) (*membershipv1.NotificationSettings, error) {
			row, err := s.q.SaveNotificationSettings(ctx, tx, store.SaveNotificationSettingsParams{
				PersonID: id, MutedKinds: kindsToText(n.GetMutedKinds()), Now: s.now(),
			})
			if err != nil {
				return nil, err
			}
			if err := s.touch(ctx, tx); err != nil {
				return nil, err
			}
			return settingsFromRow(row.PersonID, row.MutedKinds, &row.UpdateTime, row.Version), nil
		})
}

// UnsubscribeNotifications follows a one-click opt-out link. The token is
// the only credential: it is signed (mail.OptOut), names its recipient and
// kind, and doing it twice is doing it once.
func (s *Server) UnsubscribeNotifications(ctx context.Context, req *membershipv1.UnsubscribeNotificationsRequest) (*membershipv1.UnsubscribeNotificationsResponse, error) {
	recipient, kindText, err := s.optOut.Verify(req.GetToken())
	kind := membershipv1.NotificationKind(pgenum.Number(membershipv1.NotificationKind(0).Descriptor(), kindText))
	if err != nil || kind == membershipv1.NotificationKind_NOTIFICATION_KIND_UNSPECIFIED {
		return nil, apierr.InvalidField("token", "not an opt-out link of this Guildhall; copy the whole link from the mail")
	}
	now := s.now()
	switch {
	case strings.HasPrefix(recipient, people+"/"):
		err = s.q.MuteNotificationKind(ctx, s.db, store.MuteNotificationKindParams{
			PersonID: resource.ID(people, recipient), Kind: kindText, Now: now,
		})
	case strings.HasPrefix(recipient, volunteers+"/"):
		err = s.q.OptOutVolunteer(ctx, s.db, store.OptOutVolunteerParams{VolunteerID: resource.ID(volunteers, recipient), Now: now})
	default:
		return nil, apierr.InvalidField("token", "not an opt-out link of this Guildhall; copy the whole link from the mail")
	}
	if err != nil {
		return nil, err
	}
	return &membershipv1.UnsubscribeNotificationsResponse{Kind: kind}, nil
}

// GetMailRecipient tells the notifier where and whether to mail someone.
// It runs for services only (policy), which may read emails and contacts.
func (s *Server) GetMailRecipient(ctx context.Context, req *membershipv1.GetMailRecipientRequest) (*membershipv1.MailRecipient, error) {
	name := req.GetRecipient()
	if strings.HasPrefix(name, volunteers+"/") {
		v, err := s.q.GetVolunteerMailRecipient(ctx, s.db, resource.ID(volunteers, name))
		if err != nil {
			return nil, resource.NotFoundIfNoRows(err, name)
		}
		out := &membershipv1.MailRecipient{Recipient: name, DisplayName: v.DisplayName}
		if !strings.Contains(v.Contact, ":") && strings.Contains(v.Contact, "@") {
			out.Email = v.Contact // a handle (irc:jane) is not mailed
		}
		if v.OptedOut {
			out.MutedKinds = []membershipv1.NotificationKind{membershipv1.NotificationKind_NOTIFICATION_KIND_VOLUNTEER}
		}
		return out, nil
	}
	id := resource.ID(people, name)
	p, err := s.q.GetPerson(ctx, s.db, id)
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, name)
	}
	settings, err := s.q.GetNotificationSettings(ctx, s.db, id)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	return &membershipv1.MailRecipient{Recipient: name, DisplayName: p.DisplayName, Email: p.Email, MutedKinds: kindsFromText(settings.MutedKinds)}, nil
}
