"""Sign-up, login and the current user."""

from fastapi import APIRouter, Request, status

from backend import crud
from backend.deps import CurrentUser, SessionDep, StateDep, api_error
from backend.passwords import password_problem
from backend.rate_limit import limit_by_client
from backend.schemas import TokenPublic, UserCreate, UserLogin, UserPublic
from backend.security import DUMMY_HASH, create_access_token, hash_password, verify_password

router = APIRouter(prefix="/api/auth", tags=["auth"])


def _token(state: StateDep, user_id: int) -> str:
    return create_access_token(user_id, state.secret_key, state.settings.access_token_minutes)


@router.post("/signup", status_code=status.HTTP_201_CREATED, response_model=TokenPublic)
async def sign_up(body: UserCreate, request: Request, state: StateDep, db: SessionDep) -> TokenPublic:
    limit_by_client(request, "signup", per_minute=state.settings.signups_per_minute)
    if problem := password_problem(body.password, email=body.email, display_name=body.display_name):
        raise api_error(status.HTTP_422_UNPROCESSABLE_CONTENT, "weak_password", problem)
    user = await crud.create_user(db, body.email, hash_password(body.password), body.display_name)
    if user is None:
        raise api_error(status.HTTP_409_CONFLICT, "email_taken", "An account with this email already exists.")
    return TokenPublic(access_token=_token(state, user.id), user=UserPublic.model_validate(user))


@router.post("/login", response_model=TokenPublic)
async def log_in(body: UserLogin, request: Request, state: StateDep, db: SessionDep) -> TokenPublic:
    limit_by_client(request, "login", per_minute=state.settings.logins_per_minute)
    user = await crud.get_user_by_email(db, body.email)
    valid = verify_password(body.password, user.password_hash if user else DUMMY_HASH)
    if user is None or not valid:
        raise api_error(status.HTTP_401_UNAUTHORIZED, "bad_credentials", "Wrong email or password.")
    return TokenPublic(access_token=_token(state, user.id), user=UserPublic.model_validate(user))


@router.get("/me", response_model=UserPublic)
async def read_me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)
