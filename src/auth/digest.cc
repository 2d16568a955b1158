// Placeholder: the digest module is being written.
namespace sipedge::auth {}
