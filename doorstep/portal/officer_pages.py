urlpatterns: list = []
staff_urlpatterns: list = []
