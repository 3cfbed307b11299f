package membership

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/convert"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/lifecycle"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/membership/store"
)

const packages = "packages"

// FAILED_PRECONDITION reasons of the package custom methods.
const (
	ReasonNotAMaintainer    = typev1.ErrorReason_NOT_A_MAINTAINER
	ReasonAlreadyMaintainer = typev1.ErrorReason_ALREADY_MAINTAINER
	ReasonPackageObsolete   = typev1.ErrorReason_PACKAGE_OBSOLETE
	ReasonNoPendingAdoption = typev1.ErrorReason_NO_PENDING_ADOPTION
	ReasonNoMaintainer      = typev1.ErrorReason_NO_MAINTAINER
)

// packageMoves are the states TransitionPackage may move a package to from
// each state. Any package may be declared OBSOLETE; an obsolete one comes
// back as UNMAINTAINED (then :adopt) or, with maintainers, MAINTAINED. A
// package without maintainers becomes MAINTAINED only through
// ApproveAdoption, which names the new maintainer.
var packageMoves = lifecycle.New("package", map[membershipv1.Package_State][]membershipv1.Package_State{
	membershipv1.Package_STATE_MAINTAINED:         {membershipv1.Package_STATE_SEEKING_MAINTAINER, membershipv1.Package_STATE_OBSOLETE},
	membershipv1.Package_STATE_SEEKING_MAINTAINER: {membershipv1.Package_STATE_MAINTAINED, membershipv1.Package_STATE_UNMAINTAINED, membershipv1.Package_STATE_OBSOLETE},
	membershipv1.Package_STATE_UNMAINTAINED:       {membershipv1.Package_STATE_SEEKING_MAINTAINER, membershipv1.Package_STATE_OBSOLETE},
	membershipv1.Package_STATE_OBSOLETE:           {membershipv1.Package_STATE_UNMAINTAINED, membershipv1.Package_STATE_MAINTAINED},
})

// GetPackage implements AIP-131.
func (s *Server) GetPackage(ctx context.Context, req *membershipv1.GetPackageRequest) (*membershipv1.Package, error) {
	return s.loadPackage(ctx, s.db, resource.ID(packages, req.GetName()), false)
}

// ListPackages lists packages by id, optionally of one state, so "current"
// and "old/unmaintained" are one call each.
func (s *Server) ListPackages(ctx context.Context, req *membershipv1.ListPackagesRequest) (*membershipv1.ListPackagesResponse, error) {
	state := ""
	if req.GetState() != membershipv1.Package_STATE_UNSPECIFIED {
		state = pgenum.Text(req.GetState())
	}
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(packages, state))
	if err != nil {
		return nil, err
	}
	rows, err := s.q.ListPackages(ctx, s.db, store.ListPackagesParams{State: state, After: page.After(), PageSize: page.Limit()})
	if err != nil {
		return nil, err
	}
	resp := &membershipv1.ListPackagesResponse{}
	rows, resp.NextPageToken = pagination.Finish(page, rows, func(r store.Package) string { return r.ID })
	resp.Packages, err = s.packagesFromRows(ctx, s.db, rows)
	return resp, err
}

// CreatePackage implements AIP-133. Without a state, a package with
// maintainers is MAINTAINED and one without is UNMAINTAINED.
func (s *Server) CreatePackage(ctx context.Context, req *membershipv1.CreatePackageRequest) (*membershipv1.Package, error) {
	p := req.GetPackage()
	if p.GetState() == membershipv1.Package_STATE_UNSPECIFIED {
		p.State = membershipv1.Package_STATE_UNMAINTAINED
		if len(p.GetMaintainers()) > 0 {
			p.State = membershipv1.Package_STATE_MAINTAINED
		}
	}
	if err := validatePackage(p); err != nil {
		return nil, err
	}
	id := req.GetPackageId()
	return resource.Create(ctx, s.db, resource.Name(packages, id), req.GetRequestId(), "CreatePackage", req, func(tx pgx.Tx) (*membershipv1.Package, error) {
		if err := s.onRecord(ctx, tx, "created"); err != nil {
			return nil, err
		}
		if err := s.q.CreatePackage(ctx, tx, store.CreatePackageParams{
			ID: id, DisplayName: p.GetDisplayName(), Description: p.GetDescription(), RepositoryUrl: p.GetRepositoryUrl(),
			State: pgenum.Text(p.GetState()), LastReleaseVersion: p.GetLastReleaseVersion(), LastReleaseDate: p.GetLastReleaseDate(),
			TeamID: parentID(p.GetTeam()), Now: s.now(),
		}); err != nil {
			return nil, noSuchTeam(err, "package.team", p.GetTeam())
		}
		if err := s.setMaintainers(ctx, tx, id, p.GetMaintainers()); err != nil {
			return nil, err
		}
		if err := s.touch(ctx, tx); err != nil {
			return nil, err
		}
		return s.loadPackage(ctx, tx, id, false)
	})
}

// packageFields are the fields UpdatePackage may change. State is not one of
// them: it moves only through the package's methods, on the record (AIP-216).
var packageFields = []string{"display_name", "description", "repository_url", "maintainers", "last_release_version", "last_release_date", "team"}

// UpdatePackage implements AIP-134. Removing the last maintainer of a
// MAINTAINED or SEEKING_MAINTAINER package is refused: :orphan does that, on
// the record.
func (s *Server) UpdatePackage(ctx context.Context, req *membershipv1.UpdatePackageRequest) (*membershipv1.Package, error) {
	id := resource.ID(packages, req.GetPackage().GetName())
	return resource.Update(ctx, s.db, req.GetPackage(), req.GetUpdateMask(), packageFields,
		func(tx pgx.Tx) (*membershipv1.Package, error) { return s.loadPackage(ctx, tx, id, true) },
		validatePackage,
		func(tx pgx.Tx, p *membershipv1.Package) (*membershipv1.Package, error) {
			if err := s.q.UpdatePackage(ctx, tx, store.UpdatePackageParams{
				ID: id, DisplayName: p.GetDisplayName(), Description: p.GetDescription(), RepositoryUrl: p.GetRepositoryUrl(),
				LastReleaseVersion: p.GetLastReleaseVersion(), LastReleaseDate: p.GetLastReleaseDate(),
				TeamID: parentID(p.GetTeam()), Now: s.now(),
			}); err != nil {
				return nil, noSuchTeam(err, "package.team", p.GetTeam())
			}
			if err := s.setMaintainers(ctx, tx, id, p.GetMaintainers()); err != nil {
				return nil, err
			}
			if err := s.touch(ctx, tx); err != nil {
				return nil, err
			}
			return s.loadPackage(ctx, tx, id, false)
		})
}

// OrphanPackage removes a maintainer (the caller unless named). When the
// last one leaves, the package is UNMAINTAINED (nobody looks after it, as
// Debian's "O:" orphan bugs say) and open to :adopt. SEEKING_MAINTAINER
// keeps its meaning of "maintained for now, looking for someone new", which a
// maintainer sets with UpdatePackage before stepping down; OBSOLETE stays.
func (s *Server) OrphanPackage(ctx context.Context, req *membershipv1.OrphanPackageRequest) (*membershipv1.Package, error) {
	id := resource.ID(packages, req.GetName())
	who := req.GetMaintainer()
	if who == "" {
		who = auth.From(ctx).GetPerson()
	}
	if who == "" {
		return nil, apierr.InvalidField("maintainer", "required when the caller is not a person")
	}
	return s.packageTx(ctx, id, req.GetName(), "orphaned by "+who, func(tx pgx.Tx, cur *membershipv1.Package) error {
		n, err := s.q.RemoveMaintainer(ctx, tx, store.RemoveMaintainerParams{PackageID: id, PersonID: resource.ID(people, who)})
		if err != nil {
			return err
		}
		if n == 0 {
			return apierr.FailedPrecondition(ReasonNotAMaintainer, who+" does not maintain "+req.GetName())
		}
		return s.q.MarkOrphaned(ctx, tx, store.MarkOrphanedParams{Ids: []string{id}, State: "unmaintained", Now: s.now()})
	})
}

// AdoptPackage records the caller's wish to maintain a package, pending a
// lead's or admin's approval. Asking again changes nothing.
func (s *Server) AdoptPackage(ctx context.Context, req *membershipv1.AdoptPackageRequest) (*membershipv1.Package, error) {
	id := resource.ID(packages, req.GetName())
	who := auth.From(ctx).GetPerson()
	return s.packageTx(ctx, id, req.GetName(), "", func(tx pgx.Tx, cur *membershipv1.Package) error {
		for _, m := range cur.GetMaintainers() {
			if m == who {
				return apierr.FailedPrecondition(ReasonAlreadyMaintainer, who+" already maintains "+req.GetName())
			}
		}
		if cur.GetState() == membershipv1.Package_STATE_OBSOLETE {
			return apierr.FailedPrecondition(ReasonPackageObsolete, req.GetName()+" is obsolete and cannot be adopted")
		}
		return s.q.AddAdoption(ctx, tx, store.AddAdoptionParams{PackageID: id, PersonID: resource.ID(people, who), RequestTime: s.now()})
	})
}

// ApproveAdoption makes a pending adopter a maintainer; the package is
// MAINTAINED again.
func (s *Server) ApproveAdoption(ctx context.Context, req *membershipv1.ApproveAdoptionRequest) (*membershipv1.Package, error) {
	id := resource.ID(packages, req.GetName())
	personID := resource.ID(people, req.GetPerson())
	return s.packageTx(ctx, id, req.GetName(), "adoption by "+req.GetPerson()+" approved", func(tx pgx.Tx, cur *membershipv1.Package) error {
		n, err := s.q.RemoveAdoption(ctx, tx, store.RemoveAdoptionParams{PackageID: id, PersonID: personID})
		if err != nil {
			return err
		}
		if n == 0 {
			return apierr.FailedPrecondition(ReasonNoPendingAdoption, req.GetPerson()+" has not asked to adopt "+req.GetName())
		}
		if err := s.q.AddMaintainer(ctx, tx, store.AddMaintainerParams{PackageID: id, PersonID: personID, Since: s.now()}); err != nil {
			return err
		}
		return s.q.SetPackageState(ctx, tx, store.SetPackageStateParams{ID: id, State: "maintained", Now: s.now()})
	})
}

// TransitionPackage moves a package to another state on the record.
func (s *Server) TransitionPackage(ctx context.Context, req *membershipv1.TransitionPackageRequest) (*membershipv1.Package, error) {
	id := resource.ID(packages, req.GetName())
	to := req.GetState()
	return s.packageTx(ctx, id, req.GetName(), req.GetNote(), func(tx pgx.Tx, cur *membershipv1.Package) error {
		if err := resource.CheckEtag(cur, req.GetEtag()); err != nil {
			return err
		}
		from := cur.GetState()
		if from == to {
			return nil
		}
		if err := packageMoves.Check(from, to); err != nil {
			if e := (*apierr.Error)(nil); errors.As(err, &e) {
				e.Message += " (and to MAINTAINED through :approveAdoption)"
			}
			return err
		}
		if to == membershipv1.Package_STATE_MAINTAINED && len(cur.GetMaintainers()) == 0 {
			return apierr.FailedPrecondition(ReasonNoMaintainer, req.GetName()+" has no maintainer, so it cannot be "+to.String()+": approve an adoption instead")
		}
		if to == membershipv1.Package_STATE_UNMAINTAINED && len(cur.GetMaintainers()) > 0 {
			return apierr.FailedPrecondition(lifecycle.ReasonIllegalTransition, req.GetName()+" has maintainers: they step down with :orphan")
		}
		return s.q.SetPackageState(ctx, tx, store.SetPackageStateParams{ID: id, State: pgenum.Text(to), Now: s.now()})
	})
}

// onRecord names the caller, the service clock's time and note for the
// state records the database keeps in this transaction (package_transitions).
func (s *Server) onRecord(ctx context.Context, tx pgx.Tx, note string) error {
	return s.q.SetRecordContext(ctx, tx, store.SetRecordContextParams{
		Actor: auth.Actor(ctx), Time: s.now().UTC().Format(time.RFC3339Nano), Note: note,
	})
}

// noSuchTeam turns a foreign-key violation on a team reference into a field error.
func noSuchTeam(err error, field, team string) error {
	if resource.IsForeignKeyViolation(err) {
		return apierr.InvalidField(field, team+" does not exist")
	}
	return err
}

// packageTx runs change on a locked package, on the record with note, and
// returns the result.
func (s *Server) packageTx(ctx context.Context, id, name, note string, change func(pgx.Tx, *membershipv1.Package) error) (*membershipv1.Package, error) {
	var out *membershipv1.Package
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := s.onRecord(ctx, tx, note); err != nil {
			return err
		}
		cur, err := s.loadPackage(ctx, tx, id, true)
		if err != nil {
			return resource.NotFoundIfNoRows(err, name)
		}
		if err := change(tx, cur); err != nil {
			return err
		}
		if err := s.touch(ctx, tx); err != nil {
			return err
		}
		out, err = s.loadPackage(ctx, tx, id, false)
		return err
	})
	return out, err
}

// stepDown removes person (an id) as maintainer of every package; those left
// without one take state: "unmaintained" when the person is deleted, as with
// :orphan, or "seeking_maintainer" when drift made them emeritus. It returns
// the packages.
func (s *Server) stepDown(ctx context.Context, tx pgx.Tx, person, state string) ([]string, error) {
	pkgs, err := s.q.RemoveMaintainerEverywhere(ctx, tx, person)
	if err != nil || len(pkgs) == 0 {
		return pkgs, err
	}
	return pkgs, s.q.MarkOrphaned(ctx, tx, store.MarkOrphanedParams{Ids: pkgs, State: state, Now: s.now()})
}

// setMaintainers makes the package's maintainers exactly names.
func (s *Server) setMaintainers(ctx context.Context, tx pgx.Tx, id string, names []string) error {
	keep := make([]string, len(names))
	for i, n := range names {
		keep[i] = resource.ID(people, n)
	}
	if err := s.q.RemoveMaintainersExcept(ctx, tx, store.RemoveMaintainersExceptParams{PackageID: id, Keep: keep}); err != nil {
		return err
	}
	for i, p := range keep {
		err := s.q.AddMaintainer(ctx, tx, store.AddMaintainerParams{PackageID: id, PersonID: p, Since: s.now()})
		if resource.IsForeignKeyViolation(err) {
			return apierr.InvalidField("package.maintainers", names[i]+" does not exist")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func validatePackage(p *membershipv1.Package) error {
	if err := resource.Required("package", map[string]bool{
		"display_name": p.GetDisplayName() != "",
		"state":        p.GetState() != membershipv1.Package_STATE_UNSPECIFIED,
	}); err != nil {
		return err
	}
	if _, err := convert.ParseDate("package.last_release_date", p.GetLastReleaseDate()); err != nil {
		return err
	}
	// A package seeking a maintainer may have none left (drift took them).
	if p.GetState() == membershipv1.Package_STATE_MAINTAINED && len(p.GetMaintainers()) == 0 {
		return apierr.InvalidField("package.maintainers", "a "+p.GetState().String()+" package needs at least one maintainer")
	}
	return nil
}

// loadPackage reads one package with its maintainers and pending adopters.
func (s *Server) loadPackage(ctx context.Context, db store.DBTX, id string, lock bool) (*membershipv1.Package, error) {
	get := s.q.GetPackage
	if lock {
		get = s.q.GetPackageForUpdate
	}
	row, err := get(ctx, db, id)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) && !lock {
			return nil, apierr.NotFound(resource.Name(packages, id))
		}
		return nil, err
	}
	out, err := s.packagesFromRows(ctx, db, []store.Package{row})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

func (s *Server) packagesFromRows(ctx context.Context, db store.DBTX, rows []store.Package) ([]*membershipv1.Package, error) {
	ids := make([]string, len(rows))
	out := make([]*membershipv1.Package, len(rows))
	byID := map[string]*membershipv1.Package{}
	for i, r := range rows {
		ids[i] = r.ID
		p := &membershipv1.Package{
			Name:               resource.Name(packages, r.ID),
			DisplayName:        r.DisplayName,
			Description:        r.Description,
			RepositoryUrl:      r.RepositoryUrl,
			State:              membershipv1.Package_State(pgenum.Number(membershipv1.Package_STATE_UNSPECIFIED.Descriptor(), r.State)),
			LastReleaseVersion: r.LastReleaseVersion,
			LastReleaseDate:    r.LastReleaseDate,
			Maintainers:        []string{},
			PendingAdopters:    []string{},
			CreateTime:         timestamppb.New(r.CreateTime),
			UpdateTime:         timestamppb.New(r.UpdateTime),
			Etag:               resource.Etag(r.Version),
			History:            []*membershipv1.PackageTransition{},
		}
		if r.TeamID.Valid {
			p.Team = resource.Name(teams, r.TeamID.String)
		}
		out[i], byID[r.ID] = p, p
	}
	ms, err := s.q.PackageMaintainers(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		byID[m.PackageID].Maintainers = append(byID[m.PackageID].Maintainers, resource.Name(people, m.PersonID))
	}
	as, err := s.q.PackageAdoptions(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		byID[a.PackageID].PendingAdopters = append(byID[a.PackageID].PendingAdopters, resource.Name(people, a.PersonID))
	}
	ts, err := s.q.PackageTransitions(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	state := func(s string) membershipv1.Package_State {
		return membershipv1.Package_State(pgenum.Number(membershipv1.Package_STATE_UNSPECIFIED.Descriptor(), s))
	}
	for _, t := range ts {
		byID[t.PackageID].History = append(byID[t.PackageID].History, &membershipv1.PackageTransition{
			FromState: state(t.FromState), ToState: state(t.ToState), Actor: t.Actor, Time: timestamppb.New(t.Time), Note: t.Note,
		})
	}
	return out, nil
}
