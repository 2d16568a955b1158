// Placeholder: the registrar is being written.
namespace sipedge::b2bua {}
