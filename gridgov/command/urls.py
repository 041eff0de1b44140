from .views import incidents, video, wall

app_name = "command"
urlpatterns = [*wall.urlpatterns, *video.urlpatterns, *incidents.urlpatterns]
