"""Contact-centre KPIs: repeat contacts, first-contact resolution, handling time, complaints, channel switching."""
