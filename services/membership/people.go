package membership

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/convert"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/membership/store"
)

const people = "people"

// GetPerson implements AIP-131.
func (s *Server) GetPerson(ctx context.Context, req *membershipv1.GetPersonRequest) (*membershipv1.Person, error) {
	id := resource.ID(people, req.GetName())
	if err := s.evaluateDrift(ctx, id); err != nil {
		return nil, err
	}
	row, err := s.q.GetPerson(ctx, s.db, id)
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	out := []*membershipv1.Person{personFromRow(row)}
	if err := s.withTeams(ctx, s.db, out); err != nil {
		return nil, err
	}
	redact(ctx, out)
	return out[0], nil
}

// ListPeople implements AIP-132 with keyset pagination by id.
func (s *Server) ListPeople(ctx context.Context, req *membershipv1.ListPeopleRequest) (*membershipv1.ListPeopleResponse, error) {
	if err := s.evaluateDrift(ctx, ""); err != nil {
		return nil, err
	}
	resp := &membershipv1.ListPeopleResponse{}
	var err error
	resp.People, resp.NextPageToken, err = pagination.List(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(people),
		func(after string, limit int32) ([]store.Person, error) {
			return s.q.ListPeople(ctx, s.db, store.ListPeopleParams{After: after, PageSize: limit})
		},
		func(r store.Person) string { return r.ID }, personFromRow)
	if err != nil {
		return nil, err
	}
	if err := s.withTeams(ctx, s.db, resp.People); err != nil {
		return nil, err
	}
	redact(ctx, resp.People)
	return resp, nil
}

// FindPeople finds people by a handle on any (or one) system, or by
// email; the policy keeps email lookups to admins and people.read_private.
func (s *Server) FindPeople(ctx context.Context, req *membershipv1.FindPeopleRequest) (*membershipv1.FindPeopleResponse, error) {
	handle := strings.TrimPrefix(strings.TrimSpace(req.GetHandle()), "@")
	email := strings.TrimSpace(req.GetEmail())
	var rows []store.Person
	var err error
	switch {
	case handle != "" && email != "":
		return nil, apierr.InvalidField("email", "give a handle or an email, not both")
	case handle != "":
		rows, err = s.q.LookupPeopleByHandle(ctx, s.db, store.LookupPeopleByHandleParams{Handle: handle, System: req.GetSystem()})
	case email != "":
		rows, err = s.q.LookupPeopleByEmail(ctx, s.db, email)
	default:
		return nil, apierr.InvalidField("handle", "required: a handle (or, for privileged callers, an email) to look up")
	}
	if err != nil {
		return nil, err
	}
	resp := &membershipv1.FindPeopleResponse{People: []*membershipv1.Person{}}
	for _, r := range rows {
		resp.People = append(resp.People, personFromRow(r))
	}
	if err := s.withTeams(ctx, s.db, resp.People); err != nil {
		return nil, err
	}
	redact(ctx, resp.People)
	return resp, nil
}

// CreatePerson implements AIP-133 with a client-chosen id and request_id.
func (s *Server) CreatePerson(ctx context.Context, req *membershipv1.CreatePersonRequest) (*membershipv1.Person, error) {
	p := req.GetPerson()
	p.State = membershipv1.Person_STATE_ACTIVE
	if err := validatePerson(p); err != nil {
		return nil, err
	}
	handles, err := json.Marshal(convert.NonNilMap(p.GetHandles()))
	if err != nil {
		return nil, err
	}
	name := resource.Name(people, req.GetPersonId())
	return resource.Create(ctx, s.db, name, req.GetRequestId(), "CreatePerson", req, func(tx pgx.Tx) (*membershipv1.Person, error) {
		row, err := s.q.CreatePerson(ctx, tx, store.CreatePersonParams{
			ID: req.GetPersonId(), DisplayName: p.GetDisplayName(), Email: p.GetEmail(), Handles: handles,
			Skills: convert.NonNil(p.GetSkills()), Country: p.GetCountry(), TimeZone: p.GetTimeZone(), Bio: p.GetBio(),
		})
		if err != nil {
			return nil, err
		}
		if p.GetAdmin() {
			if err := s.q.SetAdmin(ctx, tx, store.SetAdminParams{ID: row.ID, Admin: true}); err != nil {
				return nil, err
			}
			row.Admin = true
		}
		if err := s.touch(ctx, tx); err != nil {
			return nil, err
		}
		if err := s.emit(ctx, tx, events.PersonCreated, resource.Name(people, row.ID),
			&membershipv1.Person{Name: resource.Name(people, row.ID), DisplayName: row.DisplayName}, events.Public()); err != nil {
			return nil, err
		}
		// The creator supplied every field, so nothing is redacted here.
		return personFromRow(row), nil
	})
}

// personFields are the fields UpdatePerson may change. The policy lets only
// admins change admin. State is not one of them: it moves only through drift
// (activity, nudges, inactivity, emeritus), each move a drift event on the
// record (AIP-216).
var personFields = []string{"display_name", "email", "handles", "skills", "country", "time_zone", "bio", "admin"}

// UpdatePerson implements AIP-134 with an etag check.
func (s *Server) UpdatePerson(ctx context.Context, req *membershipv1.UpdatePersonRequest) (*membershipv1.Person, error) {
	id := resource.ID(people, req.GetPerson().GetName())
	out, err := resource.Update(ctx, s.db, req.GetPerson(), req.GetUpdateMask(), personFields,
		func(tx pgx.Tx) (*membershipv1.Person, error) {
			row, err := s.q.GetPersonForUpdate(ctx, tx, id)
			return personFromRow(row), err
		},
		validatePerson,
		func(tx pgx.Tx, p *membershipv1.Person) (*membershipv1.Person, error) {
			handles, err := json.Marshal(convert.NonNilMap(p.GetHandles()))
			if err != nil {
				return nil, err
			}
			row, err := s.q.UpdatePerson(ctx, tx, store.UpdatePersonParams{
				ID: id, DisplayName: p.GetDisplayName(), Email: p.GetEmail(), Handles: handles,
				Skills: convert.NonNil(p.GetSkills()), Country: p.GetCountry(), TimeZone: p.GetTimeZone(), Bio: p.GetBio(),
			})
			if err != nil {
				return nil, err
			}
			if row.Admin != p.GetAdmin() {
				if err := s.q.SetAdmin(ctx, tx, store.SetAdminParams{ID: id, Admin: p.GetAdmin()}); err != nil {
					return nil, err
				}
				row.Admin = p.GetAdmin()
			}
			if err := s.touch(ctx, tx); err != nil {
				return nil, err
			}
			if err := s.emit(ctx, tx, events.PersonUpdated, resource.Name(people, id),
				&membershipv1.Person{Name: resource.Name(people, id), DisplayName: p.GetDisplayName()}, events.Public()); err != nil {
				return nil, err
			}
			row, err = s.q.GetPerson(ctx, tx, id) // touch may have moved last_active_time
			return personFromRow(row), err
		})
	if err != nil {
		return nil, err
	}
	one := []*membershipv1.Person{out}
	if err := s.withTeams(ctx, s.db, one); err != nil {
		return nil, err
	}
	redact(ctx, one)
	return out, nil
}

// DeletePerson implements AIP-135.
func (s *Server) DeletePerson(ctx context.Context, req *membershipv1.DeletePersonRequest) (*emptypb.Empty, error) {
	id := resource.ID(people, req.GetName())
	err := resource.Delete(ctx, s.db, req.GetName(), req.GetEtag(),
		func(tx pgx.Tx) (*membershipv1.Person, error) {
			row, err := s.q.GetPersonForUpdate(ctx, tx, id)
			return personFromRow(row), err
		},
		func(tx pgx.Tx) error {
			// First, so packages they alone maintained show up for adoption.
			if _, err := s.stepDown(ctx, tx, id, "unmaintained"); err != nil {
				return err
			}
			if err := s.q.DeletePerson(ctx, tx, id); err != nil {
				return err
			}
			return s.touch(ctx, tx)
		})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// validatePerson checks what the proto rules cannot: fields required on a
// whole person, whether created or after an update mask is applied.
func validatePerson(p *membershipv1.Person) error {
	return resource.Required("person", map[string]bool{
		"display_name": p.GetDisplayName() != "",
		"state":        p.GetState() != membershipv1.Person_STATE_UNSPECIFIED,
	})
}

func personFromRow(r store.Person) *membershipv1.Person {
	var handles map[string]string
	_ = json.Unmarshal(r.Handles, &handles)
	return &membershipv1.Person{
		Name:           resource.Name(people, r.ID),
		DisplayName:    r.DisplayName,
		Email:          r.Email,
		Handles:        handles,
		Skills:         r.Skills,
		Country:        r.Country,
		TimeZone:       r.TimeZone,
		Bio:            r.Bio,
		State:          membershipv1.Person_State(pgenum.Number(membershipv1.Person_STATE_UNSPECIFIED.Descriptor(), r.State)),
		LastActiveTime: convert.Timestamp(r.LastActiveTime),
		CreateTime:     timestamppb.New(r.CreateTime),
		UpdateTime:     timestamppb.New(r.UpdateTime),
		Etag:           resource.Etag(r.Version),
		Admin:          r.Admin,
		Nudged:         r.DriftStage == stageNudged,
	}
}
