package roadmap

import (
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/auth"
)

// Policy declares who may call each RPC; see package auth. Admins pass every rule.
func (s *Server) Policy() auth.Policy {
	edit := auth.Permission("roadmap.edit")
	return auth.Policy{
		roadmapv1.RoadmapService_GetRelease_FullMethodName:    auth.Public(),
		roadmapv1.RoadmapService_ListReleases_FullMethodName:  auth.Public(),
		roadmapv1.RoadmapService_CreateRelease_FullMethodName: edit,
		roadmapv1.RoadmapService_UpdateRelease_FullMethodName: edit,
		roadmapv1.RoadmapService_DeleteRelease_FullMethodName: edit,
	}
}
