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

// packageHistory keeps every package's moves. The database writes it (a
// trigger on packages.state, migration 00007), so that no path that moves a
// state can skip it; onRecord names the actor, time and note it records.
var packageHistory = lifecycle.History{Collection: packages, Table: "package_transitions", Key: "package_id"}

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

// orphanMoves are the moves of :orphan when the last maintainer leaves; an
// UNMAINTAINED or OBSOLETE package stays as it is.
var orphanMoves = lifecycle.New("package", map[membershipv1.Package_State][]membershipv1.Package_State{
	membershipv1.Package_STATE_MAINTAINED:         {membershipv1.Package_STATE_UNMAINTAINED},
	membershipv1.Package_STATE_SEEKING_MAINTAINER: {membershipv1.Package_STATE_UNMAINTAINED},
})

// adoptionMoves are the moves of :approveAdoption, the one way a package
// without maintainers becomes MAINTAINED; a MAINTAINED one stays so.
var adoptionMoves = lifecycle.New("package", map[membershipv1.Package_State][]membershipv1.Package_State{
	membershipv1.Package_STATE_SEEKING_MAINTAINER: {membershipv1.Package_STATE_MAINTAINED},
	membershipv1.Package_STATE_UNMAINTAINED:       {membershipv1.Package_STATE_MAINTAINED},
	membershipv1.Package_STATE_OBSOLETE:           {membershipv1.Package_STATE_MAINTAINED},
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
		if err := s.onRecord(ctx, tx, auth.Actor(ctx), s.now(), "created"); err != nil {
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
	return s.packageTx(ctx, id, lifecycle.Spec[membershipv1.Package_State, *membershipv1.Package]{
		Machine: orphanMoves, Name: req.GetName(), Note: "orphaned by " + who,
		Target: func(tx pgx.Tx, cur *membershipv1.Package) (membershipv1.Package_State, error) {
			n, err := s.q.RemoveMaintainer(ctx, tx, store.RemoveMaintainerParams{PackageID: id, PersonID: resource.ID(people, who)})
			if err != nil {
				return 0, err
			}
			if n == 0 {
				return 0, apierr.FailedPrecondition(ReasonNotAMaintainer, who+" does not maintain "+req.GetName())
			}
			if int64(len(cur.GetMaintainers())) > n || cur.GetState() == membershipv1.Package_STATE_OBSOLETE {
				return cur.GetState(), nil
			}
			return membershipv1.Package_STATE_UNMAINTAINED, nil
		},
	})
}

// AdoptPackage records the caller's wish to maintain a package, pending a
// lead's or admin's approval. Asking again changes nothing. The package
// stays where it is.
func (s *Server) AdoptPackage(ctx context.Context, req *membershipv1.AdoptPackageRequest) (*membershipv1.Package, error) {
	id := resource.ID(packages, req.GetName())
	who := auth.From(ctx).GetPerson()
	return s.packageTx(ctx, id, lifecycle.Spec[membershipv1.Package_State, *membershipv1.Package]{
		Machine: packageMoves, Name: req.GetName(),
		Target: func(tx pgx.Tx, cur *membershipv1.Package) (membershipv1.Package_State, error) {
			for _, m := range cur.GetMaintainers() {
				if m == who {
					return 0, apierr.FailedPrecondition(ReasonAlreadyMaintainer, who+" already maintains "+req.GetName())
				}
			}
			if cur.GetState() == membershipv1.Package_STATE_OBSOLETE {
				return 0, apierr.FailedPrecondition(ReasonPackageObsolete, req.GetName()+" is obsolete and cannot be adopted")
			}
			return cur.GetState(), s.q.AddAdoption(ctx, tx, store.AddAdoptionParams{PackageID: id, PersonID: resource.ID(people, who), RequestTime: s.now()})
		},
	})
}

// ApproveAdoption makes a pending adopter a maintainer; the package is
// MAINTAINED again.
func (s *Server) ApproveAdoption(ctx context.Context, req *membershipv1.ApproveAdoptionRequest) (*membershipv1.Package, error) {
	id := resource.ID(packages, req.GetName())
	personID := resource.ID(people, req.GetPerson())
	return s.packageTx(ctx, id, lifecycle.Spec[membershipv1.Package_State, *membershipv1.Package]{
		Machine: adoptionMoves, Name: req.GetName(), Note: "adoption by " + req.GetPerson() + " approved",
		Target: func(tx pgx.Tx, cur *membershipv1.Package) (membershipv1.Package_State, error) {
			n, err := s.q.RemoveAdoption(ctx, tx, store.RemoveAdoptionParams{PackageID: id, PersonID: personID})
			if err != nil {
				return 0, err
			}
			if n == 0 {
				return 0, apierr.FailedPrecondition(ReasonNoPendingAdoption, req.GetPerson()+" has not asked to adopt "+req.GetName())
			}
			if err := s.q.AddMaintainer(ctx, tx, store.AddMaintainerParams{PackageID: id, PersonID: personID, Since: s.now()}); err != nil {
				return 0, err
			}
			if cur.GetState() == membershipv1.Package_STATE_MAINTAINED {
				// No move, but a new maintainer: a new etag.
				return cur.GetState(), s.q.SetPackageState(ctx, tx, store.SetPackageStateParams{ID: id, State: pgenum.Text(cur.GetState()), Now: s.now()})
			}
			return membershipv1.Package_STATE_MAINTAINED, nil
		},
	})
}

// TransitionPackage moves a package to another state on the record.
func (s *Server) TransitionPackage(ctx context.Context, req *membershipv1.TransitionPackageRequest) (*membershipv1.Package, error) {
	id := resource.ID(packages, req.GetName())
	return s.packageTx(ctx, id, lifecycle.Spec[membershipv1.Package_State, *membershipv1.Package]{
		Machine: packageMoves, Name: req.GetName(), To: req.GetState(), Etag: req.GetEtag(), Note: req.GetNote(),
		Refuse: func(from, to membershipv1.Package_State) error {
			err := packageMoves.Check(from, to)
			if e := (*apierr.Error)(nil); errors.As(err, &e) {
				e.Message += " (and to MAINTAINED through :approveAdoption)"
			}
			return err
		},
		Apply: func(_ pgx.Tx, cur *membershipv1.Package, m lifecycle.Move[membershipv1.Package_State]) (*membershipv1.Package, error) {
			if m.To == membershipv1.Package_STATE_MAINTAINED && len(cur.GetMaintainers()) == 0 {
				return nil, apierr.FailedPrecondition(ReasonNoMaintainer, req.GetName()+" has no maintainer, so it cannot be "+m.To.String()+": approve an adoption instead")
			}
			if m.To == membershipv1.Package_STATE_UNMAINTAINED && len(cur.GetMaintainers()) > 0 {
				return nil, packageMoves.Refuse(m.From, m.To, req.GetName()+" has maintainers: they step down with :orphan")
			}
			return cur, nil
		},
	})
}

// onRecord names who, when (the service clock) and why for the state
// records the database keeps in this transaction (package_transitions).
func (s *Server) onRecord(ctx context.Context, tx pgx.Tx, actor string, at time.Time, note string) error {
	return s.q.SetRecordContext(ctx, tx, store.SetRecordContextParams{
		Actor: actor, Time: at.UTC().Format(time.RFC3339Nano), Note: note,
	})
}

// noSuchTeam turns a foreign-key violation on a team reference into a field error.
func noSuchTeam(err error, field, team string) error {
	if resource.IsForeignKeyViolation(err) {
		return apierr.InvalidField(field, team+" does not exist")
	}
	return err
}

// packageTx runs a package method as one lifecycle.Transition of package
// id: under the row lock sp.Target does what the method does first and
// names the state it leads to (the current one to stay put, which sp.Stay
// allows); a move is checked against sp.Machine, checked again by sp.Apply
// if set, made, and recorded by the database with the move's actor, time
// and note (onRecord), and announced (emitTransition). Every method counts
// as the caller's activity. It returns the package after.
func (s *Server) packageTx(ctx context.Context, id string, sp lifecycle.Spec[membershipv1.Package_State, *membershipv1.Package]) (*membershipv1.Package, error) {
	check := sp.Apply
	sp.Now, sp.Stay, sp.After = s.now(), true, s.emitTransition
	sp.Lock = func(tx pgx.Tx) (*membershipv1.Package, error) { return s.loadPackage(ctx, tx, id, true) }
	sp.Of = func(p *membershipv1.Package) (membershipv1.Package_State, string) { return p.GetState(), p.GetEtag() }
	sp.Apply = func(tx pgx.Tx, cur *membershipv1.Package, m lifecycle.Move[membershipv1.Package_State]) (*membershipv1.Package, error) {
		if check != nil {
			if _, err := check(tx, cur, m); err != nil {
				return nil, err
			}
		}
		if err := s.onRecord(ctx, tx, m.Actor, m.Time, m.Note); err != nil {
			return nil, err
		}
		if err := s.q.SetPackageState(ctx, tx, store.SetPackageStateParams{ID: id, State: pgenum.Text(m.To), Now: m.Time}); err != nil {
			return nil, err
		}
		return s.loadPackage(ctx, tx, id, false)
	}
	var out *membershipv1.Package
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, _, err := lifecycle.Transition(ctx, tx, sp); err != nil {
			return err
		}
		if err := s.touch(ctx, tx); err != nil {
			return err
		}
		var err error
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
	return out, lifecycle.Fill(ctx, db, packageHistory, out...)
}
