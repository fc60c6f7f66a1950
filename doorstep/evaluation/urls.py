from doorstep.evaluation import bulletin_pages, incident_pages, link_pages, pages, review_pages

app_name = "evaluation"
# The KPI pages and dashboards; incidents, baselines and verification samples; tiered evaluations and spot
# checks; leader links and inspections; bulletins and the monthly star.
urlpatterns = [
    *pages.urlpatterns,
    *incident_pages.urlpatterns,
    *review_pages.urlpatterns,
    *link_pages.urlpatterns,
    *bulletin_pages.urlpatterns,
]
