from .views import desk, detail, lists

app_name = "cases"
# Fixed paths first: a case's page (`<number>/`) takes whatever is left.
urlpatterns = lists.urlpatterns + desk.urlpatterns + detail.urlpatterns
