from django.urls import path

from accounts import captcha, signup_views

urlpatterns = [
    path("", signup_views.signup_start, name="signup"),
    path("code/<uuid:token>/", signup_views.signup_code, name="signup_code"),
    path("resultat/<uuid:token>/", signup_views.signup_result, name="signup_result"),
    path("antispam/<str:key>/audio/", captcha.captcha_audio, name="captcha_audio"),
    path("<str:step>/", signup_views.signup_wizard, name="signup_step"),
]
